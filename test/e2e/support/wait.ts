import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** What is awaited, for the timeout message: "the webhooks to review Deployments in ns-a". */
  readonly description: string;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/**
 * Calls `attempt` until it returns something other than undefined and returns that. An attempt
 * that throws counts as "not yet"; on timeout the error names what was awaited and the last
 * failure. For the API server's asynchronous parts: webhook configurations take ~0.2 s to apply,
 * controllers create ReplicaSets and Pods, dapr-guard's namespace watch follows label changes.
 */
export async function eventually<T>(attempt: () => Promise<T | undefined>, options: EventuallyOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastProblem: string;
    try {
      const value = await attempt();
      if (value !== undefined) return value;
      lastProblem = 'the condition did not hold';
    } catch (error: unknown) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${options.description}; last attempt: ${lastProblem}`,
      );
    }
    await sleep(options.intervalMs ?? 200);
  }
}
