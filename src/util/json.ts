/** Safe navigation over untyped JSON: whatever a client or a configuration file sent. */

/** The one alias for a JSON object. */
export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asRecord(value: unknown): JsonRecord | undefined {
  return isRecord(value) ? value : undefined;
}

/** `value`, or undefined when it is missing or empty. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** `base` with `layer` merged in: mappings merge key by key, anything else in `layer` replaces. */
export function deepMerge(base: JsonRecord, layer: JsonRecord): JsonRecord {
  const result: JsonRecord = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    const existing = result[key];
    result[key] = isRecord(existing) && isRecord(value) ? deepMerge(existing, value) : value;
  }
  return result;
}

/** A configured value for a message: a string quoted, anything else by its kind (`a list`, `a mapping`). */
export function describeSetting(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were described above: a scalar is left
  return String(value);
}
