/** Exponential backoff and error description for the loops that retry the Kubernetes API. */

export interface Backoff {
  /** The delay after the first failure. */
  readonly initialMs: number;
  /** No delay is longer. */
  readonly maxMs: number;
}

/** The delay after the `failure`-th failure in a row (1, 2, …): doubling from `initialMs`, at most 64 × it and `maxMs`. */
export function backoffDelayMs(failure: number, backoff: Backoff): number {
  return Math.min(backoff.initialMs * 2 ** Math.min(Math.max(failure, 1) - 1, 6), backoff.maxMs);
}

/** An error for a log line: its message and, when it has a numeric one (an HTTP status), its code. */
export function describeError(error: unknown): { message: string; code?: number } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? { message: error.message, code } : { message: error.message };
}
