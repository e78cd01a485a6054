import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { cloneJson } from './json-clone.ts';
import { valueAtPath } from './scoped-copy.ts';

export type PatchOperation = Operation;

/**
 * The RFC 6902 operations that turn `original` into `mutated`. Keys are escaped by the library
 * (`/` → `~1`, `~` → `~0`), so `dapr.io/sidecar-cpu-limit` becomes `dapr.io~1sidecar-cpu-limit`.
 */
export function diff(original: unknown, mutated: unknown): PatchOperation[] {
  return fastJsonPatch.compare(toPatchable(original), toPatchable(mutated));
}

/**
 * The same diff restricted to the subtree at `path` (which exists in `original`), with paths that
 * point into the whole object: the rest of the two objects is known to be shared, so it is not walked.
 */
export function diffAt(original: unknown, mutated: unknown, path: readonly string[]): PatchOperation[] {
  if (path.length === 0) return diff(original, mutated);
  const prefix = path.map((key) => `/${fastJsonPatch.escapePathComponent(key)}`).join('');
  return diff(valueAtPath(original, path), valueAtPath(mutated, path)).map((operation) => ({
    ...operation,
    path: `${prefix}${operation.path}`,
  }));
}

/** The patch as the API server expects it in AdmissionResponse.patch, or undefined when there is nothing to change. */
export function encodePatch(operations: readonly PatchOperation[]): string | undefined {
  if (operations.length === 0) return undefined;
  return Buffer.from(JSON.stringify(operations), 'utf8').toString('base64');
}

function toPatchable(value: unknown): object {
  return typeof value === 'object' && value !== null ? value : {};
}

/** `object` with `operations` applied, as the API server applies a webhook's patch; `object` is left unchanged. */
export function applyPatch<T extends object>(object: T, operations: readonly PatchOperation[]): T {
  if (operations.length === 0) return object;
  return fastJsonPatch.applyPatch(cloneJson(object), [...operations], true, true).newDocument;
}
