import { performance } from 'node:perf_hooks';

/**
 * The bound for one call on a hostile input of a megabyte or so. A linear scan takes well under a
 * millisecond; the bound only catches super-linear blowup (a backtracking regex takes seconds to hours).
 */
export const LINEAR_BOUND_MS = 50;

/** One MiB: the order of what an annotation or a field can carry in one review. */
export const MIB = 1024 * 1024;

/** Runs of `run` that `timed` makes: the fastest counts, so that a busy machine does not fail a linear scan. */
const RUNS = 3;

/** What `run` (a pure function) returned and how long its fastest of three calls took, in milliseconds. */
export function timed<T>(run: () => T): { readonly result: T; readonly ms: number } {
  let best = Number.POSITIVE_INFINITY;
  let result = run();
  for (let attempt = 0; attempt < RUNS; attempt += 1) {
    const start = performance.now();
    result = run();
    best = Math.min(best, performance.now() - start);
  }
  return { result, ms: best };
}

/** `text` as one flat string, so that building a hostile input is not part of what a test times. */
export function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
