// Words dropped before stemming, written accent-folded because folding runs first. Two groups:
// Italian function words (articles, prepositions, pronouns, auxiliary and modal verbs, question
// words), and the politeness and chat filler citizens wrap questions in ("buongiorno volevo
// sapere…", "nn", "x"). Both carry no topic; left in, a filler word that happens to occur in one
// FAQ entry gets a high IDF and drags unrelated questions to that entry.

const FUNCTION_WORDS = `
a ad al allo ai agli all alla alle agl col coi con da dal dallo dai dagli dall dalla dalle dagl
di del dello dei degli dell della delle degl d in nel nello nei negli nell nella nelle negl su sul
sullo sui sugli sull sulla sulle sugl per tra fra contro verso senza sopra sotto dopo prima presso
il lo la i gli le l un uno una e ed o od ma pero se anche ancora gia solo pure oppure quindi
io tu lui lei noi voi loro me te ci vi mi ti si ne li glielo
mio mia miei mie tuo tua tuoi tue suo sua suoi sue nostro nostra nostri nostre vostro vostra vostri vostre
quest questo questa questi queste quello quella quelli quelle quel quei stesso stessa altro altra altri altre
che chi cui come dove dov quando quanto quanta quanti quante quale quali cosa cos perche percio
non piu molto molta molti molte poco tanto tanti tutto tutta tutti tutte ogni qualche qualcosa niente nulla
c ce sia sono sei siamo siete era erano ero sara saranno sarei sarebbe stato stata stati state essere
ho hai ha abbiamo avete hanno avevo aveva avere avuto abbia avrei avrebbe
fa fai faccio facciamo fanno fare fatto fatta fatti faccia farei farebbe
sto stai sta stanno stare
posso puoi puo possiamo potete possono potrei potrebbe potere
devo devi deve dobbiamo dovete devono dovrei dovrebbe dovere
voglio vuoi vuole vogliamo volete vogliono vorrei vorremmo volevo volevamo volere
qui qua ecco cioe ossia tipo ok okay no po
`;

const CHAT_FILLER = `
buongiorno buonasera buonanotte salve ciao gentile gentili gentilissimi gentilissimo egregio spett
cortesemente gentilmente grazie mille saluti cordiali distinti prego scusate scusa scusi
sapere chiedere chiedo domandare informazione informazioni info
sig signor signora dott
nn x xke xche ke k cmq pls plz tt qlc qlcs
`;

export const STOP_WORDS: ReadonlySet<string> = new Set(`${FUNCTION_WORDS} ${CHAT_FILLER}`.split(/\s+/).filter(Boolean));
