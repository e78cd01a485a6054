/**
 * Kubernetes resource quantities (k8s.io/apimachinery `resource.ParseQuantity`). The values are those
 * client-node's `quantityToScalar` returned when this module wrapped it (a float for n, u, m, no suffix
 * and exponents; a BigInt for whole multiples of k…E and Ki…Ei), without its gaps: it accepted
 * " 4", "0x10", "Infinity", "1e3m", returned 0 for "" and threw on "1.5Gi".
 */

/** Exact (bigint) for whole multiples of k…E and Ki…Ei, a float otherwise. */
export type QuantityValue = number | bigint;

/**
 * The serialization grammar documented on `resource.Quantity`:
 * `<signedNumber><suffix>` with `<suffix>` one of Ki Mi Gi Ti Pi Ei, n u m "" k M G T P E, or
 * e/E followed by a signed integer; no whitespace anywhere. (ParseQuantity also lets through a
 * few digitless strings such as "." or "+"; nobody means those, so they are refused here.)
 * Each character has exactly one place in the pattern: with `\d+\.?\d*` a digit run could be split
 * between the two quantifiers in n ways, and a refused string cost O(n²) (48k digits: 1.6 s).
 */
const QUANTITY_GRAMMAR = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

/**
 * No real quantity is longer ("-9223372036854775808Ei" is 23). Checked before any regex or BigInt
 * work: parsing a million digits as a BigInt alone takes ~100 ms.
 */
export const MAX_QUANTITY_LENGTH = 64;

/** The suffixes after the number; exponents (`1e3`) end in a digit and are read by Number(). */
const SUFFIX = /(?:[KMGTPE]i|[numkMGTPE])$/;

/** n, u, m: the number divided, as a float. */
const DIVISORS: Readonly<Record<string, number>> = { n: 1e9, u: 1e6, m: 1e3 };

/** k…E and Ki…Ei: a whole number multiplied exactly, as a BigInt. */
const MULTIPLIERS: Readonly<Record<string, bigint>> = {
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
};

const INTEGER = /^[+-]?\d+$/;

/** True when Kubernetes accepts `text` as a resource quantity. */
export function isQuantity(text: string): boolean {
  return text.length <= MAX_QUANTITY_LENGTH && QUANTITY_GRAMMAR.test(text);
}

/** The value of a Kubernetes quantity, or undefined when Kubernetes would refuse `text`. */
export function parseQuantity(text: string): QuantityValue | undefined {
  if (!isQuantity(text)) return undefined;
  const suffix = SUFFIX.exec(text)?.[0];
  if (suffix === undefined) return Number(text);
  const number = text.slice(0, -suffix.length);
  const divisor = DIVISORS[suffix];
  if (divisor !== undefined) return Number(number) / divisor;
  const multiplier = MULTIPLIERS[suffix] ?? 1n;
  return INTEGER.test(number) ? BigInt(number) * multiplier : Number(number) * Number(multiplier);
}

/** Negative, zero or positive as `a` is less than, equal to or greater than `b`. */
export function compareQuantities(a: QuantityValue, b: QuantityValue): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}
