// Runs beside every test file (vitest setupFiles): the file's scratch folders go when it ends.
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp-dir.js';

afterAll(() => removeTempDirs());
