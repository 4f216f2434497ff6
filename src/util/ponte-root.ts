// The folder Ponte is installed in (package.json, config/, connectors/), the same whether this
// module runs from the sources (tsx, vitest) or compiled into dist/: files that are not compiled
// (YAML, SQL) are found there, never beside a compiled module.
import { fileURLToPath } from 'node:url';

export const PONTE_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/[\\/](dist[\\/]?)?$/, '');
