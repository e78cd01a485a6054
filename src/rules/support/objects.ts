import type { RuleContext } from '../rule.ts';
import { asArray, asRecord, asString } from './json.ts';
import { quoteText } from './messages.ts';
import { nonEmpty } from '../../util/json.ts';

/** Longest user text a message quotes: warnings are cut at 256 characters. */
const MAX_QUOTED_LENGTH = 40;

/** `text` in double quotes with invisible characters escaped (`"4000Mi\\n"`), shortened to fit in a warning. */
export function quoted(text: string, maxLength: number = MAX_QUOTED_LENGTH): string {
  return quoteText(text, maxLength);
}

/**
 * The object's name for messages. A Pod created from generateName may have no name yet
 * (`orders-55c4ddf884-…`); on CREATE the request can carry the name the object omits.
 */
function objectName(object: unknown, requestName?: string): string | undefined {
  const metadata = asRecord(asRecord(object)?.['metadata']);
  const name = nonEmpty(asString(metadata?.['name'])) ?? nonEmpty(requestName);
  if (name !== undefined) return name;
  const generateName = nonEmpty(asString(metadata?.['generateName']));
  return generateName === undefined ? undefined : `${generateName}…`;
}

/** The name of the object under review, or `(unnamed)`. */
export function contextObjectName(context: RuleContext): string {
  return objectName(context.object, context.request.name) ?? '(unnamed)';
}

/** `Deployment "orders"` for messages. */
export function describeObject(kind: string, object: unknown): string {
  const name = objectName(object);
  return name === undefined ? kind : `${kind} ${quoted(name)}`;
}

/** True when a controller (ReplicaSet, Job, StatefulSet…) owns the object, so its owner was reviewed already. */
export function hasControllerOwner(object: unknown): boolean {
  const metadata = asRecord(asRecord(object)?.['metadata']);
  return asArray(metadata?.['ownerReferences']).some((reference) => asRecord(reference)?.['controller'] === true);
}
