import { quantityToScalar } from '@kubernetes/client-node/dist/util.js';

/**
 * Kubernetes resource quantities (k8s.io/apimachinery `resource.ParseQuantity`), read with
 * client-node's `quantityToScalar`. That function is lenient where Kubernetes is strict (it
 * accepts " 4", "0x10", "Infinity", "1e3m" and returns 0 for ""), and it throws on valid
 * fractions with a k…E or Ki…Ei suffix ("1.5Gi"); this wrapper closes both gaps.
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

/** The suffixes that client-node multiplies as BigInt, which fails on a fraction. */
const BIGINT_SUFFIX = /(?:[KMGTPE]i|[kMGTPE])$/;

const INTEGER = /^[+-]?\d+$/;

/** True when Kubernetes accepts `text` as a resource quantity. */
export function isQuantity(text: string): boolean {
  return text.length <= MAX_QUANTITY_LENGTH && QUANTITY_GRAMMAR.test(text);
}

/** The value of a Kubernetes quantity, or undefined when Kubernetes would refuse `text`. */
export function parseQuantity(text: string): QuantityValue | undefined {
  if (!isQuantity(text)) return undefined;
  const suffix = BIGINT_SUFFIX.exec(text)?.[0];
  if (suffix === undefined) return quantityToScalar(text);
  const number = text.slice(0, -suffix.length);
  if (INTEGER.test(number)) return quantityToScalar(text);
  return Number(number) * Number(quantityToScalar(`1${suffix}`));
}

/** Negative, zero or positive as `a` is less than, equal to or greater than `b`. */
export function compareQuantities(a: QuantityValue, b: QuantityValue): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}
