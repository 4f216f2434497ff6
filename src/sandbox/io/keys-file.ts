// `ponte sandbox --keys <file>`: the subscription keys the sandbox accepts, so a CED can rehearse
// what going live brings before it happens at IO: a wrong key (401, which halts that service in
// Ponte until `ponte channel resume appio`), a service still in its test phase (403 "Recipient
// forbidden" for anyone not on its list), two services of one owner sharing its rate limit.
import { z } from 'zod';
import { ConfigError } from '../../config/errors.js';
import { readYamlFile } from '../../config/yaml-file.js';
import { isValidFiscalCode } from '../../util/fiscal-code.js';
import type { Account } from './server.js';

const accountSchema = z.object({
  service: z.string().min(1),
  owner: z.string().min(1).default('comune'),
  authorizedRecipients: z.array(z.string()).optional(),
}).strict();

/** Key → account, read from a YAML map; every problem names the key and the field. */
export function readSandboxKeys(file: string): Record<string, Account> {
  const doc = readYamlFile(file);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || Object.keys(doc).length === 0) {
    throw new ConfigError(file, ['expected a map of subscription keys, e.g.\n  chiave-anagrafe: { service: anagrafe }\n  chiave-polizia: { service: polizia-locale, authorizedRecipients: [<fiscal code>] }']);
  }
  const keys: Record<string, Account> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(doc)) {
    const parsed = accountSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${[key, ...issue.path].join('.')}: ${issue.message}`);
      continue;
    }
    const bad = (parsed.data.authorizedRecipients ?? []).findIndex((cf) => !isValidFiscalCode(cf));
    if (bad >= 0) problems.push(`${key}.authorizedRecipients.${bad}: not a valid fiscal code`);
    keys[key] = parsed.data;
  }
  if (problems.length) throw new ConfigError(file, problems);
  return keys;
}
