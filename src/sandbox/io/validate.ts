// Request validation against IO's own OpenAPI (Swagger 2.0) file, with ajv. The sandbox must
// reject exactly what IO rejects, so no check here is hand-written: each served operation's
// body and path parameters are validated with the schemas the spec declares for it.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsModule.default;

type Json = Record<string, unknown>;

/** Where the spec lives: next to this file in src/, also when running from the compiled dist/. */
export function defaultSpecPath(): string {
  const candidates = [
    new URL('./spec/io-services-api_v1.yaml', import.meta.url),
    new URL('../../../../src/sandbox/io/spec/io-services-api_v1.yaml', import.meta.url),
  ].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`IO sandbox: OpenAPI spec not found (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * Swagger 2.0 is JSON Schema draft 4 plus extensions; ajv speaks draft 7. Rewrite the few
 * constructs IO's spec uses that ajv would misread, keeping their meaning:
 * - `exclusiveMaximum: true` (draft 4 boolean) → the numeric draft 6+ form;
 * - `x-one-of: true` + `allOf` is how IO's code generator spells a union → `anyOf`;
 * - `$ref: '#/definitions/X'` → a ref into the document registered under id "io".
 */
function normalize(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalize);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) out[k] = normalize(v);
  for (const bound of ['Maximum', 'Minimum'] as const) {
    const flag = `exclusive${bound}`;
    const limit = bound.toLowerCase();
    if (typeof out[flag] === 'boolean') {
      if (out[flag] === true && typeof out[limit] === 'number') {
        out[flag] = out[limit];
        delete out[limit];
      } else delete out[flag];
    }
  }
  if (out['x-one-of'] === true && Array.isArray(out.allOf)) {
    out.anyOf = out.allOf;
    delete out.allOf;
  }
  if (typeof out.$ref === 'string' && out.$ref.startsWith('#/definitions/')) out.$ref = `io${out.$ref}`;
  return out;
}

interface OperationSchemas {
  body?: ValidateFunction;
  params: Record<string, ValidateFunction>;
  /** The schema the spec declares for each response status. */
  responses: Record<string, ValidateFunction>;
}

export interface Validators {
  /** null when valid, else a readable report naming each failing field ("root.content.subject ..."). */
  body(operationId: string, body: unknown): string | null;
  param(operationId: string, name: string, value: string): string | null;
  /** An answer against the spec's schema for that status: null when valid or when the spec declares none. */
  response(operationId: string, status: number, body: unknown): string | null;
}

// Compiling takes ~100 ms; tests start many sandboxes from the same spec.
const compiled = new Map<string, Validators>();

/** Validators for the given operationIds of the spec at `specPath` (compiled once per process). */
export function loadValidators(operationIds: readonly string[], specPath = defaultSpecPath()): Validators {
  const cacheKey = `${specPath}\n${operationIds.join(',')}`;
  let validators = compiled.get(cacheKey);
  if (!validators) compiled.set(cacheKey, (validators = compile(operationIds, specPath)));
  return validators;
}

function compile(operationIds: readonly string[], specPath: string): Validators {
  const spec = normalize(parseYaml(readFileSync(specPath, 'utf8'))) as Json;
  const paths = spec.paths as Record<string, Record<string, Json>>;
  const sharedParams = (spec.parameters ?? {}) as Record<string, Json>;

  const ajv = new Ajv({
    strict: false, // the spec carries x-* keywords, examples, descriptions ajv does not know
    allErrors: true, // report every failing field, as IO's io-ts decoders do
    unicode: false, // IO measures lengths in UTF-16 units (JS .length), not code points
    // ajv flags `unicode` as deprecated, but it is exactly the behaviour wanted: drop that notice.
    logger: {
      log: console.log,
      warn: (...args: unknown[]) => void (String(args[0]).includes('option unicode') || console.warn(...args)),
      error: console.error,
    },
  });
  addFormats(ajv);
  // IO's code generator turns x-extensible-enum into a closed enum codec: unknown values fail.
  ajv.addKeyword({
    keyword: 'x-extensible-enum',
    schemaType: 'array',
    error: { message: (cxt) => `must be one of ${JSON.stringify(cxt.schema)}` },
    validate: (allowed: unknown[], data: unknown) => allowed.includes(data),
  });
  // Custom `format`s are @pagopa/ts-commons string types; their rules are those of ts-commons.
  const fiscalCodePattern = String(sharedParams.FiscalCode?.pattern ?? '');
  ajv.addFormat('FiscalCode', new RegExp(`^${fiscalCodePattern}$`));
  ajv.addFormat('OrganizationFiscalCode', /^[0-9]{11}$/);
  ajv.addFormat('Ulid', /^[0-9A-HJKMNP-TV-Z]{26}$/);
  ajv.addFormat('EmailString', ajv.formats.email ?? /^\S+@\S+$/);
  ajv.addFormat('UTCISODateFromString', {
    type: 'string',
    validate: (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s) && !Number.isNaN(Date.parse(s)),
  });
  ajv.addSchema({ definitions: spec.definitions }, 'io');

  const byOperation = new Map<string, OperationSchemas>();
  for (const operations of Object.values(paths)) {
    for (const op of Object.values(operations)) {
      const id = op.operationId as string | undefined;
      if (!id || !operationIds.includes(id)) continue;
      const schemas: OperationSchemas = { params: {}, responses: {} };
      for (const [status, r] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
        if (r.schema) schemas.responses[status] = ajv.compile(r.schema as Json);
      }
      for (const raw of (op.parameters ?? []) as Json[]) {
        const p = typeof raw.$ref === 'string' ? sharedParams[raw.$ref.replace(/^#\/parameters\//, '')] : raw;
        if (!p) throw new Error(`IO sandbox: unresolved parameter ${String(raw.$ref)} in ${id}`);
        if (p.in === 'body') schemas.body = ajv.compile(p.schema as Json);
        else if (p.in === 'path') {
          const { name, in: _in, required: _r, description: _d, ...schema } = p;
          schemas.params[name as string] = ajv.compile(schema);
        }
      }
      byOperation.set(id, schemas);
    }
  }
  for (const id of operationIds) {
    if (!byOperation.has(id)) throw new Error(`IO sandbox: operation ${id} not found in ${specPath}`);
  }

  return {
    body(operationId, body) {
      const check = byOperation.get(operationId)?.body;
      if (!check || check(body)) return null;
      return report(check.errors ?? [], 'root');
    },
    param(operationId, name, value) {
      const check = byOperation.get(operationId)?.params[name];
      if (!check || check(value)) return null;
      return report(check.errors ?? [], name);
    },
    response(operationId, status, body) {
      const check = byOperation.get(operationId)?.responses[String(status)];
      if (!check || check(body)) return null;
      return report(check.errors ?? [], 'response');
    },
  };
}

/** One line per failing field, e.g. `at [root.content.subject]: must NOT have fewer than 10 characters`. */
function report(errors: ErrorObject[], root: string): string {
  const lines = errors.map((e) => {
    const segments = e.instancePath.split('/').filter(Boolean);
    if (e.keyword === 'required') segments.push(String(e.params.missingProperty));
    return `at [${[root, ...segments].join('.')}]: ${e.message ?? e.keyword}`;
  });
  return [...new Set(lines)].join(' / ');
}
