import { performance } from 'node:perf_hooks';

/**
 * The bound for one call on a hostile input of a megabyte or so. A linear scan takes well under a
 * millisecond; the bound only catches super-linear blowup (a backtracking regex takes seconds to hours).
 */
export const LINEAR_BOUND_MS = 50;

/** One MiB: the order of what an annotation or a field can carry in one review. */
export const MIB = 1024 * 1024;

/** What `run` returned and how long one call took, in milliseconds. */
export function timed<T>(run: () => T): { readonly result: T; readonly ms: number } {
  const start = performance.now();
  const result = run();
  return { result, ms: performance.now() - start };
}
