// `ponte sandbox`: the IO fake on its own, for a CED to point a test config (or curl) at.
import { startIoSandbox } from '../sandbox/io/index.js';
import { readSandboxKeys } from '../sandbox/io/keys-file.js';
import { UsageError } from './common.js';

export async function sandboxCommand(o: { port: string; failRate: string; keys?: string }): Promise<number> {
  const port = Number(o.port);
  const failRate = Number(o.failRate);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number 0–65535, got "${o.port}"`);
  if (!(failRate >= 0 && failRate <= 1)) throw new UsageError(`--fail-rate: expected a fraction from 0 to 1 (e.g. 0.1), got "${o.failRate}"`);
  const keys = o.keys === undefined ? undefined : readSandboxKeys(o.keys);
  const sandbox = await startIoSandbox({ port, faults: { rate500: failRate }, ...(keys && { keys }) });
  const accepted = keys
    ? `${Object.keys(keys).length} subscription key(s) from ${o.keys}: ${Object.values(keys).map(describeAccount).join('; ')}; any other key gets 401`
    : 'any subscription key is accepted, as a service of that name';
  console.log(`IO sandbox listening at ${sandbox.url} (${accepted}). Ctrl-C to stop.`);
  await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
  await sandbox.close();
  return 0;
}

function describeAccount(a: { service: string; owner: string; authorizedRecipients?: string[] }): string {
  const phase = a.authorizedRecipients ? `, test phase: ${a.authorizedRecipients.length} allowed recipient(s)` : '';
  return `service ${a.service} (owner ${a.owner}${phase})`;
}
