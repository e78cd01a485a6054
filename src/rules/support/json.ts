/** Safe navigation over untyped JSON objects: rules see whatever a client sent. */
import { asRecord, type JsonRecord } from '../../util/json.ts';

export { asRecord, type JsonRecord };

export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The record at `path` under `root`, or undefined when any step is missing or not an object. */
export function recordAt(root: unknown, path: readonly string[]): JsonRecord | undefined {
  let current = asRecord(root);
  for (const key of path) {
    current = asRecord(current?.[key]);
    if (current === undefined) return undefined;
  }
  return current;
}

/** The record at `path`, created (replacing non-objects) where missing: for mutating a deep copy. */
export function ensureRecordAt(root: JsonRecord, path: readonly string[]): JsonRecord {
  let current = root;
  for (const key of path) {
    const next = asRecord(current[key]);
    if (next !== undefined) {
      current = next;
    } else {
      const created: JsonRecord = {};
      current[key] = created;
      current = created;
    }
  }
  return current;
}

/**
 * String-valued entries of an annotations or labels map (the API server only allows strings).
 * Returns the map itself when every value is a string, which is the common case on every review.
 */
export function stringMap(value: unknown): Readonly<Record<string, string>> {
  const record = asRecord(value);
  if (record === undefined) return EMPTY;
  for (const key in record) {
    if (typeof record[key] !== 'string') return onlyStrings(record);
  }
  return record as Readonly<Record<string, string>>;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

function onlyStrings(record: JsonRecord): Readonly<Record<string, string>> {
  return Object.fromEntries(
    Object.entries(record).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
