// The files a `path:` names: one file, or a glob in the file name (`avvisi-*.csv`) matched in
// name order. Name order is time order for the usual daily names (avvisi-20261124.csv), which is
// what the window shape (newest file) and the incremental file-position cursor rely on.
import { readdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CsvFileError } from './read.js';

/** The path relative to connector.yaml's folder (or absolute), and how errors should show it. */
export function resolvePath(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** A path as an operator would type it: relative to the working folder when inside it. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

const isGlob = (name: string) => /[*?]/.test(name);

function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Every file the path names, in name order; a single file is returned even if missing (the read says so). */
export async function matchingFiles(absolute: string): Promise<string[]> {
  const name = basename(absolute);
  if (!isGlob(name)) return [absolute];
  const dir = dirname(absolute);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    throw new CsvFileError(`${shownPath(dir)}: the folder of ${name} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const re = globRegExp(name);
  // Plain code-unit order: the same on every machine, whatever its locale.
  return entries.filter((e) => re.test(e)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((e) => join(dir, e));
}
