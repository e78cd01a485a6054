import { MAX_WARNING_LENGTH } from '../../policy/decide.ts';

/** Renders one part of a message that comes from the object (a name, a field): clipped and on one line. */
export type Clip = (text: string) => string;

/** The longest message a rule may return: the core prefixes `[rule-id] ` and the API server cuts warnings at 256. */
export function messageBudget(ruleId: string): number {
  return MAX_WARNING_LENGTH - `[${ruleId}] `.length;
}

/** `text` at most `max` characters long (a cut ends with `…`). */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** `text` on one line, at most `max` characters (a cut ends with `…`). */
export function clipText(text: string, max: number): string {
  // Control characters would break the newline-joined denial message.
  return cut(text.replace(/[\u0000-\u001f\u007f]/g, '?'), max);
}

const CLIP_LIMITS = [64, 48, 40, 32, 24, 16, 8] as const;

/**
 * The message `render` builds, with the object-supplied parts clipped just enough to fit `budget`:
 * Kubernetes names may be 253 characters long, field names are free-form.
 */
export function fitMessage(render: (clip: Clip) => string, budget: number): string {
  for (const limit of CLIP_LIMITS) {
    const message = render((text) => clipText(text, limit));
    if (message.length <= budget) return message;
  }
  return clipText(render((text) => clipText(text, 8)), budget);
}
