import { embeddedCredential } from './credentials.ts';

/**
 * Whether a message may quote a free-form field or header name. A name is user text like a value: swapped
 * with its value, or written as `X-Token: …`, it is the secret. So only what looks like a name is quoted;
 * anything else is referred to by its position (`spec.metadata[3]`).
 */
const MAX_QUOTED_NAME_LENGTH = 64;

/**
 * Metadata item names: `redisPassword`, `tls.key`, `header:Authorization` (GraphQL). A `:` only after
 * `header`: `X-Token:…` is how a header and its value are written together.
 */
const METADATA_NAME = /^(?:header:)?[\w./-]+$/;

/** HTTP header names: a subset of the RFC 9110 token, which has no `:` or `/`. */
const HEADER_NAME = /^[\w.-]+$/;

export function isQuotableMetadataName(name: string): boolean {
  return isQuotable(name, METADATA_NAME);
}

export function isQuotableHeaderName(name: string): boolean {
  return isQuotable(name, HEADER_NAME);
}

function isQuotable(name: string, shape: RegExp): boolean {
  if (name.length === 0 || name.length > MAX_QUOTED_NAME_LENGTH) return false;
  return shape.test(name) && embeddedCredential(name) === undefined;
}
