// Secrets that can ride inside an error or a logged value: a password in a connection string
// (Node's "Invalid URL" error carries the whole string as `input`), an API key or bearer token in
// the request headers an HTTP client's error keeps (axios: config.headers, and the raw request
// text). Logs and CLI errors pass through here, so no call site has to know which error does that.

// user:password@ in any URL; the user name stays, it helps to find the setting. Up to the last @
// before a quote, comma or space: a password left unencoded (the usual cause of "Invalid URL")
// may hold @, / or #, and a JSON log line must not be swallowed past its string.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@"'<>,]*:)[^\s"'<>,]+@/gi;
// Password=…; in an ADO-style SQL Server connection string.
const KEY_VALUE_PASSWORD = /\b(password|pwd)(\s*=\s*)("[^"]*"|'[^']*'|[^;"'\s]+)/gi;
// A bearer token, unless it is one of our own placeholders ("Bearer <from $WHATSAPP_TOKEN>") or a
// plain lowercase word: prose ("missing or wrong Bearer token") stays readable.
const BEARER = /\b(Bearer\s+)(?!<)(?![a-z]+\b)[A-Za-z0-9._~+/=-]+/g;
// A secret header written as text: raw HTTP ("Name: value") or JSON ("Name":"value").
const SECRET_HEADER_TEXT = /\b(Ocp-Apim-Subscription-Key|X-Hub-Signature-256|X-Hub-Signature)(["']?\s*[:=]\s*["']?)(?!<)[^\s"',;]+/gi;

/** `text` with passwords, keys and tokens replaced by ****. */
export function maskSecrets(text: string): string {
  return text
    .replace(URL_CREDENTIALS, '$1****@')
    .replace(KEY_VALUE_PASSWORD, '$1$2****')
    .replace(BEARER, '$1****')
    .replace(SECRET_HEADER_TEXT, '$1$2****');
}

/** Object keys whose values are secrets whatever they look like (headers, driver settings). */
const SECRET_KEY = /^(?:authorization|proxy-authorization|ocp-apim-subscription-key|x-hub-signature(?:-256)?|cookie|set-cookie|password|passwd|pwd|access_token|app_?secret|client_secret)$/i;
// Our own dry-run placeholders say where a secret comes from and hold none.
const PLACEHOLDER = /^(?:Bearer )?<from \$[A-Za-z_][A-Za-z0-9_]*>$/;

/** The value to show for `key`: '****' when the key names a secret, else undefined (show it as usual). */
export function secretValueFor(key: string, value: unknown): string | undefined {
  if (!SECRET_KEY.test(key) || value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' && PLACEHOLDER.test(value) ? undefined : '****';
}

interface HttpClientError extends Error {
  isAxiosError: true;
  code?: string;
  config?: { method?: string; url?: string; baseURL?: string };
  response?: { status?: number };
  cause?: unknown;
}

export function isHttpClientError(e: unknown): e is HttpClientError {
  return e instanceof Error && (e as { isAxiosError?: unknown }).isAxiosError === true;
}

/**
 * What is worth logging of an axios error: message, code, method, URL and status. Its config
 * (headers with the API key, the body with the fiscal code), request and response are left out.
 */
export function httpErrorSummary(e: HttpClientError): Error {
  const out = new Error(e.message);
  out.name = e.name;
  const props: Record<string, unknown> = {};
  if (e.code) props.code = e.code;
  if (e.config?.method) props.method = e.config.method.toUpperCase();
  if (e.config?.url) props.url = e.config.url;
  if (e.response?.status !== undefined) props.status = e.response.status;
  if (e.cause !== undefined) props.cause = e.cause;
  Object.assign(out, props);
  Object.defineProperty(out, 'stack', { value: e.stack, enumerable: false, writable: true, configurable: true });
  return out;
}
