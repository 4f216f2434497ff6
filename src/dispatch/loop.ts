// Runs the dispatcher on a schedule and on demand (after a poll stored new events), never two
// drains at once: a trigger during a drain just asks for one more pass.
import type { Logger } from 'pino';
import type { Dispatcher, DrainStats } from './dispatcher.js';
import type { StoreOutage } from '../store/outage.js';

export class DispatchLoop {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly dispatcher: Dispatcher, private readonly log: Logger, private readonly onDrain?: (s: DrainStats) => void, private readonly outage?: StoreOutage) {}

  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const stats = await this.dispatcher.drain();
          this.onDrain?.(stats);
        } catch (e) {
          if (!this.outage?.report(e)) this.log.error({ err: e }, 'dispatcher pass failed; the next pass retries');
        }
      } while (this.again && !this.stopped);
    })().finally(() => { this.running = null; });
    return this.running;
  }

  /** Stop claiming new work and wait (up to graceMs) for in-flight work to be recorded. */
  async stop(graceMs: number): Promise<boolean> {
    this.stopped = true;
    this.dispatcher.stop();
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.running.then(() => true),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(false), graceMs); }),
    ]);
    clearTimeout(timer);
    return done;
  }
}
