// Runs beside every test file (vitest setupFiles): a test that sends a query on a PostgreSQL
// connection still running another fails (see pg-one-query.ts).
import { afterEach } from 'vitest';
import { checkOneQueryAtATime } from './pg-one-query.js';

afterEach(() => checkOneQueryAtATime());
