// The real config/citizen-service.yaml as a mutable object, and loading a changed copy of it.
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { CitizenServiceConfigError, parseCitizenService, type LoadedCitizenService } from '../../../src/citizen/service/load.js';

export const FILE = 'config/citizen-service.yaml';
export const CONFIG_TEXT = readFileSync(new URL('../../../config/citizen-service.yaml', import.meta.url), 'utf8');

/** A fresh copy of the real config, as plain data. */
export function realConfig(): any {
  return parse(CONFIG_TEXT);
}

/** Loads the real config after `change`. */
export function loadChanged(change: (c: any) => void): LoadedCitizenService {
  const c = realConfig();
  change(c);
  return parseCitizenService(stringify(c), FILE);
}

/** The error lines of loading the real config after `change`; fails the test if it loads. */
export function errorsAfter(change: (c: any) => void): string[] {
  try {
    loadChanged(change);
  } catch (e) {
    if (!(e instanceof CitizenServiceConfigError)) throw e;
    return e.message.split('\n');
  }
  throw new Error('the changed config loaded without errors');
}

export const chars = (n: number, letter = 'x') => letter.repeat(n);
