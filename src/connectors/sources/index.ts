// The one place a declarative connector's source kind is looked at: everything else goes
// through RowSource.
import type { RowSource, SourceInputs } from './source.js';
import type { SourceKind } from './schema.js';
import { sqlRows } from './sql.js';
import { csvRows } from './csv/index.js';
import { httpRows } from './http/index.js';

const FACTORIES: Record<SourceKind, (inputs: SourceInputs) => RowSource> = {
  sql: sqlRows,
  csv: (inputs) => csvRows(inputs),
  http: httpRows,
};

export function rowSource(kind: SourceKind, inputs: SourceInputs): RowSource {
  return FACTORIES[kind](inputs);
}
