import { asArray, asRecord, asString } from './json.ts';

/** Longest user text a message quotes: warnings are cut at 256 characters. */
const MAX_QUOTED_LENGTH = 40;

/** `text` cut to `maxLength` characters, the last one an ellipsis when something was cut. */
export function shortened(text: string, maxLength: number = MAX_QUOTED_LENGTH): string {
  return text.length <= maxLength ? text : `${text.slice(0, maxLength - 1)}…`;
}

/** `text` in double quotes with control characters escaped, shortened to fit in a warning. */
export function quoted(text: string, maxLength: number = MAX_QUOTED_LENGTH): string {
  return JSON.stringify(shortened(text, maxLength));
}

/**
 * `Deployment "orders"` for messages; a Pod created from generateName may have no name yet
 * (`Pod "orders-55c4ddf884-…"`).
 */
export function describeObject(kind: string, object: unknown): string {
  const metadata = asRecord(asRecord(object)?.['metadata']);
  const name = asString(metadata?.['name']) ?? '';
  if (name !== '') return `${kind} ${quoted(name)}`;
  const generateName = asString(metadata?.['generateName']) ?? '';
  return generateName === '' ? kind : `${kind} ${quoted(`${generateName}…`)}`;
}

/** True when a controller (ReplicaSet, Job, StatefulSet…) owns the object, so its owner was reviewed already. */
export function hasControllerOwner(object: unknown): boolean {
  const metadata = asRecord(asRecord(object)?.['metadata']);
  return asArray(metadata?.['ownerReferences']).some((reference) => asRecord(reference)?.['controller'] === true);
}
