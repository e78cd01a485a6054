import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';

export type PatchOperation = Operation;

/**
 * The RFC 6902 operations that turn `original` into `mutated`. Keys are escaped by the library
 * (`/` → `~1`, `~` → `~0`), so `dapr.io/sidecar-cpu-limit` becomes `dapr.io~1sidecar-cpu-limit`.
 */
export function diff(original: unknown, mutated: unknown): PatchOperation[] {
  return fastJsonPatch.compare(toPatchable(original), toPatchable(mutated));
}

/** The patch as the API server expects it in AdmissionResponse.patch, or undefined when there is nothing to change. */
export function encodePatch(operations: readonly PatchOperation[]): string | undefined {
  if (operations.length === 0) return undefined;
  return Buffer.from(JSON.stringify(operations), 'utf8').toString('base64');
}

function toPatchable(value: unknown): object {
  return typeof value === 'object' && value !== null ? value : {};
}
