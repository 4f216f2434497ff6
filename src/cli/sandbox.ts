// `ponte sandbox`: the IO fake on its own, for a CED to point a test config (or curl) at.
import { startIoSandbox } from '../sandbox/io/index.js';

export async function sandboxCommand(o: { port: string; failRate: string }): Promise<number> {
  const sandbox = await startIoSandbox({ port: Number(o.port), faults: { rate500: Number(o.failRate) } });
  console.log(`IO sandbox listening at ${sandbox.url} (any subscription key is accepted). Ctrl-C to stop.`);
  await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
  await sandbox.close();
  return 0;
}
