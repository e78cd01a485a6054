/** What happens when a rule finds something: a closed set, like Gatekeeper's enforcement actions. */
export const MODES = ['enforce', 'warn', 'audit'] as const;
export type Mode = (typeof MODES)[number];

const STRICTNESS: Readonly<Record<Mode, number>> = { audit: 0, warn: 1, enforce: 2 };

export function isMode(value: unknown): value is Mode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

/** The less strict of two modes: a namespace in audit turns every rule into audit there. */
export function leastStrict(a: Mode, b: Mode): Mode {
  return STRICTNESS[a] <= STRICTNESS[b] ? a : b;
}

/** enforce, warn or audit on a Namespace: the mode of every rule in it (read by kube/namespace-modes.ts). */
export const NAMESPACE_MODE_LABEL = 'dapr-guard.io/mode';
