import { cloneJson } from './json-clone.ts';
import { isRecord, type JsonRecord } from '../util/json.ts';

export interface ScopedCopy<T extends JsonRecord> {
  /** A copy of the root that shares everything outside `anchor` with the original. */
  readonly copy: T;
  /** The longest prefix of the requested path that exists as objects in the original: copied deeply. */
  readonly anchor: readonly string[];
}

/**
 * Copies `root` along `path`: each object on the way is copied shallowly and the object at the end of
 * the existing part of the path (the anchor) deeply, so a writer that stays under the anchor never
 * touches the original, at the cost of copying only that part.
 */
export function copyAlongPath<T extends JsonRecord>(root: T, path: readonly string[]): ScopedCopy<T> {
  const existing = existingPrefix(root, path);
  if (existing.length === 0) return { copy: cloneJson(root), anchor: [] };
  const copy: JsonRecord = { ...root };
  let source: JsonRecord = root;
  let target = copy;
  existing.forEach((key, index) => {
    const child = source[key] as JsonRecord;
    const childCopy = index === existing.length - 1 ? cloneJson(child) : { ...child };
    target[key] = childCopy;
    source = child;
    target = childCopy;
  });
  return { copy: copy as T, anchor: existing };
}

export function valueAtPath(root: unknown, path: readonly string[]): unknown {
  let current = root;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

function existingPrefix(root: JsonRecord, path: readonly string[]): string[] {
  const prefix: string[] = [];
  let current: unknown = root;
  for (const key of path) {
    const next = isRecord(current) ? current[key] : undefined;
    if (!isRecord(next)) break;
    prefix.push(key);
    current = next;
  }
  return prefix;
}
