-- The rows and columns the connector reads. No ORDER BY, no "?" placeholders: Ponte wraps this
-- query with the window condition, orders by the key and reads it in pages.
SELECT r.id, r.codice_fiscale, r.telefono, r.lingua, r.scadenza, r.importo, r.rata, r.stato
FROM rate_tari r
