// Every YAML file staff edit (ponte.yaml, faq.yaml, citizen-service.yaml, connector.yaml,
// fixture.yaml, a broadcast file) is read here, so an unreadable file or a YAML slip is reported
// the same way everywhere: the file, then what is wrong — never a stack trace.
import { readFileSync } from 'node:fs';
import { parse, YAMLParseError } from 'yaml';
import { ConfigError } from './errors.js';

/** Builds the error of the file's kind (FaqConfigError, …): a ConfigError naming the file. */
export type FileErrorFactory = (file: string, problems: string[]) => ConfigError;

const configError: FileErrorFactory = (file, problems) => new ConfigError(file, problems);

/** The file's text; a file that cannot be read is a ConfigError saying why (ENOENT, EACCES …). */
export function readConfigText(file: string, fail: FileErrorFactory = configError): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw fail(file, [`cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
}

/** The YAML document (an empty file is {}); a syntax error is a ConfigError with its line. */
export function parseYamlText(text: string, file: string, fail: FileErrorFactory = configError): unknown {
  try {
    return parse(text) ?? {};
  } catch (e) {
    throw fail(file, [`not valid YAML: ${e instanceof YAMLParseError ? e.message : String(e)}`]);
  }
}

export function readYamlFile(file: string, fail: FileErrorFactory = configError): unknown {
  return parseYamlText(readConfigText(file, fail), file, fail);
}
