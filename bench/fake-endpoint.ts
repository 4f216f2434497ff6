// A minimal local endpoint for benchmarks, in a process of its own (fake-endpoint-server.ts): a
// provider is never inside the sender's process, and here its CPU is not charged to the sender
// either, so the figures compare the senders (the bare loop and each engine get the same fake).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { scriptArgv } from './scripts.js';

export interface FakeEndpoint {
  origin: string;
  close(): Promise<void>;
}

export async function fakeEndpoint(latencyMs: number): Promise<FakeEndpoint> {
  const child = spawn(process.execPath, scriptArgv('fake-endpoint-server', [String(latencyMs)]), { stdio: ['pipe', 'pipe', 'inherit'] });
  const { value, done } = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
  if (done) throw new Error('bench endpoint: the fake provider process exited before listening');
  const { port } = JSON.parse(value as string) as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    async close() {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}
