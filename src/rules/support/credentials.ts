/**
 * Recognising credentials by name and inside values. The name check is heuristic H2 of the project's
 * evaluation against the components-contrib `sensitive` flags (../shared/dapr/heuristic-eval.md, outside
 * this repository): a lower-cased name containing one of CREDENTIAL_TERMS, unless it ends with one of
 * the non-secret endings below (…path, …file, …url, …header…) or is a known non-secret name (keyspace,
 * partitionKey…). H1, the plain term list it refines, lacked passphrase, passwd, jwt, seed and
 * certificate and had no exclusions. On top of H2: well-known credential header names and two extra
 * exclusions (`…id`, `…name`: they name a credential, they are not one).
 */
import type { JsonRecord } from './json.ts';

/** H2's terms (H1 also listed sastoken, accesskey, privatekey and clientsecret, which these cover). */
export const CREDENTIAL_TERMS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'key',
  'connectionstring',
  'credential',
  'jwt',
  'seed',
  'certificate',
] as const;

/** Names ending like these say where a credential is or what shape it has (tokenURL, keyType, secretsFile). */
export const NOT_CREDENTIAL_SUFFIXES = [
  'path',
  'file',
  'url',
  'uri',
  'endpoint',
  'header',
  'headername',
  'audience',
  'audiences',
  'scope',
  'scopes',
  'length',
  'type',
  'pem',
  'mountpath',
  'name',
  'id',
] as const;

export const NOT_CREDENTIAL_PARTS = ['public', 'idempotency'] as const;

export const NOT_CREDENTIAL_NAMES: ReadonlySet<string> = new Set([
  'keys',
  'keyspace',
  'partitionkey',
  'orderingkey',
  'objectkey',
  'projectkey',
  'maxtokens',
  'multiplekeyvaluespersecret',
  'insecureignorehostkey',
  'daprportmetakey',
]);

/** Header, query-parameter and connection-string keys that carry a credential without saying so. */
export const CREDENTIAL_NAMES: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-honeycomb-team',
  'pwd',
  'sig',
]);

/** The GraphQL binding passes `header:<name>` metadata as request headers. */
export const HEADER_PREFIX = 'header:';

/** Whether a metadata field, header, query parameter or connection-string key by this name holds a credential. */
export function isCredentialName(name: string): boolean {
  const lower = name.trim().toLowerCase();
  const bare = lower.startsWith(HEADER_PREFIX) ? lower.slice(HEADER_PREFIX.length) : lower;
  if (CREDENTIAL_NAMES.has(bare)) return true;
  return CREDENTIAL_TERMS.some((term) => lower.includes(term)) && !isExcludedName(lower);
}

function isExcludedName(lower: string): boolean {
  return (
    NOT_CREDENTIAL_NAMES.has(lower) ||
    lower.startsWith('keyprefix') ||
    NOT_CREDENTIAL_SUFFIXES.some((suffix) => lower.endsWith(suffix)) ||
    NOT_CREDENTIAL_PARTS.some((part) => lower.includes(part))
  );
}

/** `absent`: no `value` key (secretKeyRef, envRef); `empty`: "", null, {} or []; `present`: anything else. */
export type PlaintextState = 'absent' | 'empty' | 'present';

/** Whether a metadata item, header or TLS entry carries a plaintext `value` (schema-less: any JSON type). */
export function plaintextState(holder: JsonRecord): PlaintextState {
  if (!Object.hasOwn(holder, 'value')) return 'absent';
  return isEmptyValue(holder['value']) ? 'empty' : 'present';
}

function isEmptyValue(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/**
 * The text to search for embedded credentials: a string as it is; for objects and arrays their string
 * leaves, one per line; nothing for other scalars. Walked with a stack of its own, not JSON.stringify:
 * V8 takes seconds to stringify a megabyte of arrays nested a thousand deep (found by the fuzzer).
 */
export function searchableText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const leaves: string[] = [];
  const pending: unknown[] = [value];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next === 'string') leaves.push(next);
    else if (typeof next === 'object' && next !== null) pushChildren(pending, Object.values(next));
  }
  return leaves.join('\n');
}

/** Last child first, so that leaves come out in document order; a loop, not a spread (arrays may be huge). */
function pushChildren(pending: unknown[], children: readonly unknown[]): void {
  for (let index = children.length - 1; index >= 0; index -= 1) pending.push(children[index]);
}

/** How a value carries credentials of its own, whatever its field is called. */
export type EmbeddedCredential = 'url' | 'connection-string';

/**
 * `scheme://user:password@host`, a URL query parameter such as `?api-key=…`, or a connection-string
 * pair such as `password=…`. Plain scans, no backtracking regular expressions: values can be megabytes.
 */
export function embeddedCredential(text: string): EmbeddedCredential | undefined {
  if (text.split(/\s+/).some(urlHasCredential)) return 'url';
  if (hasCredentialPair(text.split(/[;\s]+/))) return 'connection-string';
  return undefined;
}

function urlHasCredential(token: string): boolean {
  const first = token.indexOf('://');
  if (first <= 0) return false;
  const query = token.indexOf('?', first);
  if (query !== -1 && hasCredentialPair(token.slice(query + 1).split(/[&#]/))) return true;
  for (let at = first; at !== -1; at = token.indexOf('://', at + 3)) {
    if (userinfoHasPassword(token, at + 3)) return true;
  }
  return false;
}

const AUTHORITY_END = /[/?#]/g;

/** `user:password@` (or `:password@`) in the authority that starts at `start`. */
function userinfoHasPassword(token: string, start: number): boolean {
  AUTHORITY_END.lastIndex = start;
  const end = AUTHORITY_END.exec(token)?.index ?? token.length;
  const authority = token.slice(start, end);
  const at = authority.lastIndexOf('@');
  const colon = authority.indexOf(':');
  return at !== -1 && colon !== -1 && colon < at - 1;
}

const PAIR_KEY = /^[a-z][\w.-]*$/i;

/**
 * No driver knows a key of more than 64 characters (`Password`, `SharedAccessKey`), three times that
 * `%`-encoded: longer text before a `=` is no pair key, and is not decoded and matched at all.
 */
const MAX_ENCODED_PAIR_KEY_LENGTH = 3 * 64;

function hasCredentialPair(pairs: readonly string[]): boolean {
  return pairs.some((pair) => {
    const equals = pair.indexOf('=');
    if (equals <= 0 || equals > MAX_ENCODED_PAIR_KEY_LENGTH || pair.slice(equals + 1).trim() === '') return false;
    const key = decoded(pair.slice(0, equals).trim());
    return PAIR_KEY.test(key) && isCredentialName(key);
  });
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
