// What the harness needs to know about a connector: from connector.yaml for declarative ones,
// from fixture.yaml for TypeScript ones (built-in or in connectors/<name>/index.ts).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../config/errors.js';
import { declarativeConnector, declarativeFile, kindOf, readDeclarative } from '../declarative/load.js';
import type { CsvSourceConfig } from '../sources/csv/schema.js';
import type { HttpSourceConfig } from '../sources/http/schema.js';
import { loadDefinition } from '../registry.js';
import { readFixture } from './fixture.js';
import { mappedColumns } from '../declarative/columns.js';
import type { HarnessTarget } from './harness.js';

export async function harnessTarget(name: string, cwd = process.cwd()): Promise<HarnessTarget> {
  const yamlFile = declarativeFile(name, cwd);
  if (yamlFile) {
    const { spec } = readDeclarative(yamlFile);
    const fixture = readFixture(join(dirname(yamlFile), 'fixture.yaml'));
    const csv = kindOf(spec) === 'csv' ? spec.source as CsvSourceConfig : undefined;
    const http = kindOf(spec) === 'http' ? spec.source as HttpSourceConfig : undefined;
    const position = spec.cursor?.mode === 'position';
    // A position cursor reads no column: the checks' dates go in the first `dates` column.
    const dateColumn = spec.window?.column ?? spec.cursor?.column ?? Object.values(spec.event.dates)[0];
    if (!csv && !http && !fixture.table) throw new ConfigError(join(dirname(yamlFile), 'fixture.yaml'), ['table: required (the table the harness creates in its scratch database)']);
    // A file or a listing is written from fixture.yaml's columns: one connector.yaml maps but the
    // fixture lacks used to fail six checks with "the header line of /tmp/…csv does not have",
    // which points at connector.yaml and a scratch file rather than at fixture.yaml.
    if ((csv && !csv.columns) || http) {
      const have = new Set(Object.keys(fixture.columns));
      const missing = mappedColumns(spec).filter((m) => !have.has(m.column) && !(m.column === 'id' && m.field === 'key'));
      if (missing.length) {
        throw new ConfigError(join(dirname(yamlFile), 'fixture.yaml'), missing.map((m) => `columns: no "${m.column}", which connector.yaml maps in ${m.field}: the harness ${csv ? 'writes a scratch file' : 'serves rows'} with fixture.yaml's columns; list ${csv ? "the export's header there, in file order" : 'the fields of a row there (nested ones as outer.inner)'}`));
      }
    }
    if (!dateColumn) throw new ConfigError(yamlFile, ['event.dates: the acceptance harness needs a date column to build its cases (a file connector with a position cursor: put one under dates)']);
    return {
      ...(csv ? { csv } : {}),
      ...(http ? { http } : {}),
      cursorKind: position ? 'position' : 'column',
      name: spec.name,
      shape: spec.shape,
      definition: (o) => declarativeConnector(yamlFile, o),
      fixture,
      key: spec.key,
      dateColumn,
      dateKind: 'datetime',
      dateOffsetHours: spec.window ? Math.max(1, spec.window.aheadHours / 2) : 0,
      lagSeconds: spec.cursor?.lagSeconds ?? 0,
      ...(spec.event.cancelWhen ? { cancel: { column: spec.event.cancelWhen.column, value: spec.event.cancelWhen.in[0]! } } : {}),
      config: {},
    };
  }
  const folder = [join(cwd, 'connectors', name), resolve(cwd, name)].find((d) => existsSync(join(d, 'fixture.yaml')));
  if (!folder) throw new Error(`connector "${name}": no connectors/${name}/connector.yaml, and no fixture.yaml for a TypeScript connector`);
  const fixtureFile = join(folder, 'fixture.yaml');
  const fixture = readFixture(fixtureFile);
  const missing = (['key', 'dateColumn', 'table'] as const).filter((k) => !fixture[k]);
  if (missing.length) throw new ConfigError(fixtureFile, missing.map((k) => `${k}: required for a TypeScript connector`));
  const definition = await loadDefinition(name);
  const dateKind = fixture.columns[fixture.dateColumn!] === 'date' ? 'date' : 'datetime';
  return {
    name,
    shape: definition.shape,
    definition: () => definition,
    fixture,
    key: fixture.key!,
    dateColumn: fixture.dateColumn!,
    dateKind,
    dateOffsetHours: fixture.dateOffsetHours ?? 24,
    lagSeconds: fixture.lagSeconds ?? 0,
    ...(fixture.cancel ? { cancel: fixture.cancel } : {}),
    config: fixture.config,
  };
}
