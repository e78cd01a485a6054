/** One answer for /healthz and /readyz on both ports: the HTTPS listener (app.ts) and the metrics port (metrics.ts). */
export interface ProbeReply {
  readonly code: 200 | 503;
  readonly body: { readonly status: 'ok' } | { readonly status: 'not ready'; readonly reason?: string | undefined };
}

/** The process is up: /healthz. */
export const HEALTHY: ProbeReply = { code: 200, body: { status: 'ok' } };

/** /readyz: 200 when ready, else 503 with the reason. */
export function readinessReply(readiness: { readonly ready: boolean; readonly reason?: string }): ProbeReply {
  return readiness.ready ? HEALTHY : { code: 503, body: { status: 'not ready', reason: readiness.reason } };
}
