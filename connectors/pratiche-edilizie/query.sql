-- One row per practice; Ponte adds the cursor condition, the order (aggiornata_il, id) and the paging.
SELECT p.id, p.numero_pratica, p.codice_fiscale, p.telefono, p.stato, p.aggiornata_il
FROM pratiche_edilizie p
