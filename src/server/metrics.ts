import { createServer, type Server, type ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Endpoint } from '../admission/endpoint.ts';
import type { Decision } from '../webhook/review.ts';
import type { Mode } from '../admission/mode.ts';
import type { Readiness } from './app.ts';
import { HEALTHY, readinessReply } from './probes.ts';

/** Every metric dapr-guard exports; labels never carry object names or values. */
export interface Metrics {
  readonly registry: Registry;
  readonly reviews: Counter<'endpoint' | 'decision' | 'mode'>;
  readonly reviewDuration: Histogram<'endpoint'>;
  readonly violations: Counter<'rule' | 'mode'>;
  readonly mutations: Counter<'rule' | 'mode' | 'result'>;
  readonly errors: Counter<'endpoint' | 'code'>;
  readonly exemptions: Counter<'rule'>;
  readonly namespaceModesSynced: Gauge;
  readonly certificateReloads: Counter<'result'>;
  readonly certificateExpiry: Gauge;
  /** Undefined without process metrics (tests that build many apps). */
  readonly eventLoopLagP99: Gauge | undefined;
}

export function createMetrics(options: { readonly defaultMetrics: boolean }): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    reviews: new Counter({
      name: 'dapr_guard_admission_reviews_total',
      help: 'Admission reviews answered, by endpoint, decision and the mode of the namespace.',
      labelNames: ['endpoint', 'decision', 'mode'],
      registers,
    }),
    reviewDuration: new Histogram({
      name: 'dapr_guard_admission_review_duration_seconds',
      help: 'Time from request to response for admission reviews.',
      labelNames: ['endpoint'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    violations: new Counter({
      name: 'dapr_guard_rule_violations_total',
      help: 'Violations found, by rule and the mode they were handled in.',
      labelNames: ['rule', 'mode'],
      registers,
    }),
    mutations: new Counter({
      name: 'dapr_guard_rule_mutations_total',
      help: 'Objects a mutating rule changed (result="applied") or, in audit mode, would have changed (result="would_mutate").',
      labelNames: ['rule', 'mode', 'result'],
      registers,
    }),
    errors: new Counter({
      name: 'dapr_guard_admission_errors_total',
      help: 'Requests that could not be reviewed (bad input or internal errors), by HTTP-style code.',
      labelNames: ['endpoint', 'code'],
      registers,
    }),
    exemptions: new Counter({
      name: 'dapr_guard_exemptions_total',
      help: 'Rules skipped for an object because of a dapr-guard.io/exempt annotation.',
      labelNames: ['rule'],
      registers,
    }),
    namespaceModesSynced: new Gauge({
      name: 'dapr_guard_namespace_modes_synced',
      help: '1 when dapr-guard.io/mode namespace labels are known from a synced watch; 0 while the global mode is used everywhere.',
      registers,
    }),
    certificateReloads: new Counter({
      name: 'dapr_guard_certificate_reloads_total',
      help: 'Serving certificate reloads from disk, by result.',
      labelNames: ['result'],
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'dapr_guard_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the serving certificate in use, as a Unix timestamp.',
      registers,
    }),
    eventLoopLagP99: options.defaultMetrics ? eventLoopLagGauge(registers) : undefined,
  };
}

/** How often the event loop is sampled for its delay, in milliseconds (perf_hooks' default is 10). */
const EVENT_LOOP_SAMPLE_MS = 5;

/**
 * The 99th percentile of the event-loop delay since the previous scrape: every review runs on the one
 * loop, so a review that blocks it (a huge body, a slow pattern) delays all the others; the reliability
 * soak holds it under 10 ms. The sampler's timer does not keep the process alive.
 */
function eventLoopLagGauge(registers: Registry[]): Gauge {
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });
  delay.enable();
  return new Gauge({
    name: 'dapr_guard_event_loop_lag_p99_seconds',
    help: '99th percentile of the event-loop delay since the previous scrape, in seconds.',
    registers,
    collect() {
      // No sample yet (a scrape right after start or after another): 0, not the histogram's NaN.
      const p99 = delay.count === 0 ? 0 : delay.percentile(99) / 1e9;
      this.set(p99);
      delay.reset();
    },
  });
}

export interface ReviewRecord {
  readonly endpoint: Endpoint;
  readonly decision: Decision;
  readonly mode: Mode;
  readonly durationSeconds: number;
}

export function recordReview(metrics: Metrics, record: ReviewRecord): void {
  bound(metrics.reviews, { endpoint: record.endpoint, decision: record.decision, mode: record.mode }).inc();
  bound(metrics.reviewDuration, { endpoint: record.endpoint }).observe(record.durationSeconds);
}

/** A request that got no decision: counted in the errors by code and as a review with decision `error`. */
export function recordError(
  metrics: Metrics,
  record: Omit<ReviewRecord, 'decision'> & { readonly code: number },
): void {
  metrics.errors.inc({ endpoint: record.endpoint, code: String(record.code) });
  recordReview(metrics, {
    endpoint: record.endpoint,
    decision: 'error',
    mode: record.mode,
    durationSeconds: record.durationSeconds,
  });
}

export function recordRuleOutcome(counter: Counter<'rule' | 'mode'>, rule: string, mode: Mode): void {
  bound(counter, { rule, mode }).inc();
}

/** A mutation in audit mode changes nothing: it is counted as `would_mutate`, not `applied`. */
export function recordMutation(counter: Counter<'rule' | 'mode' | 'result'>, rule: string, mode: Mode): void {
  bound(counter, { rule, mode, result: mode === 'audit' ? 'would_mutate' : 'applied' }).inc();
}

interface Labelled<L extends string, C> {
  labels(labels: Partial<Record<L, string | number>>): C;
}

const children = new WeakMap<object, Map<string, unknown>>();

/**
 * The metric's child for these label values, bound once: prom-client hashes the label object on
 * every inc/observe, which showed in the benchmark; reviews only ever use a few dozen combinations.
 */
function bound<L extends string, C>(metric: Labelled<L, C>, labels: Readonly<Record<L, string>>): C {
  let cache = children.get(metric) as Map<string, C> | undefined;
  if (cache === undefined) {
    cache = new Map();
    children.set(metric, cache);
  }
  const key = Object.values<string>(labels).join('\u0000');
  let child = cache.get(key);
  if (child === undefined) {
    child = metric.labels(labels);
    cache.set(key, child);
  }
  return child;
}

/**
 * Plain HTTP on its own port, as Dapr does: /metrics, so scrapes never touch the TLS listener, and
 * /healthz and /readyz as on the HTTPS port, for kubelet probes when that port requires client
 * certificates (tls.clientCAFile).
 */
export function createMetricsServer(metrics: Metrics, readiness: () => Readiness): Server {
  return createServer((request, response) => {
    const path = request.method === 'GET' ? request.url?.split('?')[0] : undefined;
    if (path === '/metrics') return void serveMetrics(metrics, response);
    const probe = path === '/healthz' ? HEALTHY : path === '/readyz' ? readinessReply(readiness()) : undefined;
    if (probe === undefined) return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    response
      .writeHead(probe.code, { 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify(probe.body));
  });
}

function serveMetrics(metrics: Metrics, response: ServerResponse): void {
  metrics.registry.metrics().then(
    (body) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
    () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
  );
}
