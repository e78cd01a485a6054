import { MAX_WARNING_LENGTH } from '../../admission/wire.ts';

/** Renders one part of a message that comes from the object (a name, a field): clipped and on one line. */
export type Clip = (text: string) => string;

/** The longest message a rule may return: the core prefixes `[rule-id] ` and the API server cuts warnings at 256. */
export function messageBudget(ruleId: string): number {
  return MAX_WARNING_LENGTH - `[${ruleId}] `.length;
}

/**
 * One character that must not reach a message as it is: C0, DEL and C1 (U+0085 among them) break the
 * newline-joined denial and terminals; U+2028/2029 break lines in JavaScript and some viewers; the bidi
 * controls (U+061C, U+200E/F, U+202A–E, U+2066–9) reorder what a reader sees ("Trojan Source"); a lone
 * surrogate is not text. A single character class, tested on one character at a time: linear by construction.
 */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const INVISIBLE = /^[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]$/;

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `char` (one code point) as it may appear in a message: itself, or a visible escape such as `\u202e`. */
function visible(char: string): string {
  if (!INVISIBLE.test(char)) return char;
  return SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Inside double quotes the quote and the backslash are escaped too, as in JSON. */
function visibleInQuotes(char: string): string {
  return char === '"' || char === '\\' ? `\\${char}` : visible(char);
}

/**
 * `text` rendered character by character, at most `max` characters (a cut ends with `…`). It never splits
 * an escape or a surrogate pair, and it reads only as much of `text` as fits: a name may be megabytes.
 */
function clipRendered(text: string, max: number, render: (char: string) => string): string {
  let kept = '';
  let rendered = '';
  for (const char of text) {
    rendered += render(char);
    if (rendered.length > max) return `${kept}…`;
    if (rendered.length < max) kept = rendered;
  }
  return rendered;
}

/** `text` on one line with invisible characters escaped, at most `max` characters (a cut ends with `…`). */
export function clipText(text: string, max: number): string {
  return clipRendered(text, max, visible);
}

/** `text` in double quotes, escaped like `clipText` plus `"` and `\`; at most `max` characters between the quotes. */
export function quoteText(text: string, max: number): string {
  return `"${clipRendered(text, max, visibleInQuotes)}"`;
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
  return clipText(
    render((text) => clipText(text, 8)),
    budget,
  );
}
