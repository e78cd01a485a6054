import fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { decisionOf, reviewAdmission, transportErrorReview, type ReviewOutcome } from '../admission/review.ts';
import type { Phase, Policy } from '../policy/evaluate.ts';
import { logReview } from './review-log.ts';
import { recordReview, recordRuleOutcome, type Metrics } from './metrics.ts';
import { servingTlsOptions, type TlsMaterial } from './tls-options.ts';

export interface Readiness {
  readonly ready: boolean;
  /** Why the server is not ready, for /readyz and the logs. */
  readonly reason?: string;
}

export interface AppOptions {
  readonly policy: Policy;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly bodyLimitBytes: number;
  readonly readiness: () => Readiness;
  /** TLS material: HTTP/2 with HTTP/1.1 fallback over TLS 1.2+. Without it, plain HTTP/1.1 (for inject tests). */
  readonly tls?: TlsMaterial;
}

export type App = FastifyInstance;

const ENDPOINTS: Readonly<Record<string, Phase>> = { '/mutate': 'mutate', '/validate': 'validate' };

/** Builds the webhook application; server.ts only adds listening and shutdown. */
export function buildApp(options: AppOptions): App {
  const app = createFastify(options);
  app.removeAllContentTypeParsers();
  // Every body is read raw and parsed by the review core, so each bad-input case gets a review response.
  // application/json is named as well as the catch-all: Fastify finds an exact match without parsing the header.
  const keepRaw = (_request: FastifyRequest, body: Buffer, done: (error: null, body: Buffer) => void): void => done(null, body);
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: options.bodyLimitBytes }, keepRaw);
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimitBytes }, keepRaw);
  app.setErrorHandler((error: FastifyError, request, reply) => replyWithTransportError(error, request, reply, options));
  for (const [path, phase] of Object.entries(ENDPOINTS)) {
    app.post(path, (request, reply) => handleReview(request, reply, phase, options));
  }
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_request, reply) => {
    const readiness = options.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness.ready ? { status: 'ok' } : { status: 'not ready', reason: readiness.reason });
  });
  return app;
}

function createFastify(options: AppOptions): App {
  const common = {
    // No Fastify logger: review-log.ts writes the one line per review with the service's own logger,
    // and a per-request child logger would cost more than the line itself.
    logger: false,
    bodyLimit: options.bodyLimitBytes,
    // The API server gives up after at most 30 s; never keep a slow client's request longer.
    requestTimeout: 30_000,
    return503OnClosing: true,
  };
  if (options.tls === undefined) return fastify(common) as unknown as App;
  const https = { allowHTTP1: true, ...servingTlsOptions(options.tls) };
  return fastify({ ...common, http2: true, https }) as unknown as App;
}

function handleReview(request: FastifyRequest, reply: FastifyReply, phase: Phase, options: AppOptions): FastifyReply {
  const started = process.hrtime.bigint();
  const body = request.body instanceof Uint8Array ? request.body : undefined;
  const outcome = reviewAdmission({ contentType: request.headers['content-type'], body }, options.policy, phase);
  const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  observe(outcome, phase, durationSeconds, options);
  logReview(options.logger, outcome, phase, durationSeconds);
  // Always HTTP 200: the API server reads the decision from the review, as controller-runtime answers.
  return reply.code(200).send(outcome.review);
}

function observe(outcome: ReviewOutcome, phase: Phase, durationSeconds: number, options: AppOptions): void {
  const { metrics } = options;
  if (!outcome.ok) {
    metrics.errors.inc({ endpoint: phase, code: String(outcome.code) });
    recordReview(metrics, { endpoint: phase, decision: 'error', mode: options.policy.globalMode, durationSeconds });
    return;
  }
  const { evaluation } = outcome;
  for (const violation of evaluation.violations) recordRuleOutcome(metrics.violations, violation.ruleId, violation.mode);
  for (const mutation of evaluation.mutations) recordRuleOutcome(metrics.mutations, mutation.ruleId, mutation.mode);
  for (const exemption of evaluation.exemptions) metrics.exemptions.inc({ rule: exemption.ruleId });
  recordReview(metrics, { endpoint: phase, decision: decisionOf(outcome), mode: evaluation.mode, durationSeconds });
}

function replyWithTransportError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, options: AppOptions): FastifyReply {
  const phase = ENDPOINTS[request.routeOptions.url ?? ''];
  const code = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  const message = transportErrorMessage(error, code, options.bodyLimitBytes);
  options.logger.warn({ code, path: request.routeOptions.url, err: { code: error.code, message: error.message } }, 'request rejected before review');
  if (phase === undefined) return reply.code(code).send({ status: 'error', code, message });
  options.metrics.errors.inc({ endpoint: phase, code: String(code) });
  recordReview(options.metrics, { endpoint: phase, decision: 'error', mode: options.policy.globalMode, durationSeconds: 0 });
  return reply.code(200).send(transportErrorReview(code, message));
}

function transportErrorMessage(error: FastifyError, code: number, bodyLimitBytes: number): string {
  if (code === 413) return `request body is larger than the limit of ${bodyLimitBytes} bytes`;
  if (code === 500) return 'internal error while reading the request';
  return error.message;
}
