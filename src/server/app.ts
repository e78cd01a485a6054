import fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  constants as http2Constants,
  type Http2SecureServer,
  type Http2ServerRequest,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ENDPOINTS, type Endpoint } from '../admission/endpoint.ts';
import { clipHeader } from '../admission/parse-review.ts';
import { sniffEcho } from '../admission/sniff-echo.ts';
import {
  DEFAULT_HEADERS_TIMEOUT_SECONDS,
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
} from '../config/options.ts';
import type { Policy } from '../policy/evaluate.ts';
import { reviewAdmission, transportErrorReview, type ReviewOutcome } from '../webhook/review.ts';
import { BodyRefusedError, createBodyBudget, readBody, type BodyBudget, type BodyTicket } from './body-reader.ts';
import { HEALTHY, readinessReply } from './probes.ts';
import { logReview } from './review-log.ts';
import { recordError, recordMutation, recordReview, recordRuleOutcome, type Metrics } from './metrics.ts';
import { servingTlsOptions, type TlsMaterial } from '../tls/options.ts';

export interface Readiness {
  readonly ready: boolean;
  /** Why the server is not ready, for /readyz and the logs. */
  readonly reason?: string;
}

/** Limits of the transport; each is a configuration option (src/config/options.ts). */
export interface ServerLimits {
  /** Deadline for receiving and reviewing one request, on both protocols. */
  readonly requestTimeoutSeconds: number;
  readonly headersTimeoutSeconds: number;
  /** Request body bytes read and reviewed at once, across requests. */
  readonly maxInflightBodyBytes: number;
  readonly maxConcurrentStreams: number;
  readonly maxConnections: number;
}

export interface AppOptions {
  readonly policy: Policy;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly bodyLimitBytes: number;
  readonly readiness: () => Readiness;
  /** Defaults: the options' defaults; maxInflightBodyBytes twice the body limit. */
  readonly limits?: Partial<ServerLimits>;
  /** TLS material: HTTP/2 with HTTP/1.1 fallback over TLS 1.2+. Without it, plain HTTP/1.1 (for inject tests). */
  readonly tls?: TlsMaterial;
}

export type App = FastifyInstance;

/** The route of each endpoint: `/mutate`, `/validate`. */
const ROUTES: ReadonlyMap<string, Endpoint> = new Map(ENDPOINTS.map((endpoint) => [`/${endpoint}`, endpoint]));

/**
 * Node's own per-request limits (HTTP/1.1 requestTimeout, the HTTP/2 stream timer) fire this much after
 * the deadline: they cannot answer with a review, so the review-level 408 (Fastify's handlerTimeout)
 * gets the first chance.
 */
const BACKSTOP_MS = 2000;
/** How often Node checks HTTP/1.1 requests against headersTimeout/requestTimeout (its default is 30 s). */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1000;

/** What the transport knows about one review request besides its parsed body. */
interface RequestState {
  readonly ticket: BodyTicket;
  head: Buffer | undefined;
  /** Set once the review was counted in the metrics, so a later fault never counts it again. */
  counted: boolean;
}

interface Context {
  readonly options: AppOptions;
  readonly limits: ServerLimits;
  readonly budget: BodyBudget;
  readonly states: WeakMap<FastifyRequest, RequestState>;
}

/** Builds the webhook application; server.ts only adds listening and shutdown. */
export function buildApp(options: AppOptions): App {
  const limits = limitsOf(options);
  const context: Context = {
    options,
    limits,
    budget: createBodyBudget(limits.maxInflightBodyBytes),
    states: new WeakMap(),
  };
  const app = createFastify(options, limits);
  app.removeAllContentTypeParsers();
  // Every body is read raw and parsed by the review core, so each bad-input case gets a review response.
  // application/json is named as well as the catch-all: Fastify finds an exact match without parsing the header.
  const parser = (
    request: FastifyRequest,
    payload: Readable,
    done: (error: Error | null, body?: Buffer) => void,
  ): void => parseBody(request, payload, done, context);
  app.addContentTypeParser('application/json', parser);
  app.addContentTypeParser('*', parser);
  app.setErrorHandler((error: FastifyError, request, reply) => replyWithTransportError(error, request, reply, context));
  for (const [path, endpoint] of ROUTES) {
    app.post(
      path,
      { onRequest: (request, reply, done) => (trackRequest(request, reply, context), done()) },
      (request, reply) => handleReview(request, reply, endpoint, context),
    );
  }
  app.get('/healthz', () => HEALTHY.body);
  app.get('/readyz', (_request, reply) => {
    const { code, body } = readinessReply(options.readiness());
    return reply.code(code).send(body);
  });
  return app;
}

function limitsOf(options: AppOptions): ServerLimits {
  const given: Partial<ServerLimits> = options.limits ?? {};
  return {
    requestTimeoutSeconds: given.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS,
    headersTimeoutSeconds: given.headersTimeoutSeconds ?? DEFAULT_HEADERS_TIMEOUT_SECONDS,
    maxInflightBodyBytes: given.maxInflightBodyBytes ?? 2 * options.bodyLimitBytes,
    maxConcurrentStreams: given.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
    maxConnections: given.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
  };
}

function createFastify(options: AppOptions, limits: ServerLimits): App {
  const common = {
    // No Fastify logger: review-log.ts writes the one line per review with the service's own logger,
    // and a per-request child logger would cost more than the line itself.
    logger: false,
    // Fastify applies requestTimeout only without http2 (lib/server.js); handlerTimeout applies to both
    // and covers routing, body reading and the handler: the per-request deadline, answered with a review.
    handlerTimeout: limits.requestTimeoutSeconds * 1000,
    return503OnClosing: true,
  };
  if (options.tls === undefined) return withServerLimits(fastify(common), limits);
  const https = { allowHTTP1: true, ...servingTlsOptions(options.tls) };
  const transport = {
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams },
    connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
  };
  const app = fastify({ ...common, http2: true, https: { ...https, ...transport } }) as unknown as App;
  withStreamDeadline(app.server as unknown as Http2SecureServer, limits.requestTimeoutSeconds * 1000 + BACKSTOP_MS);
  return withServerLimits(app, limits);
}

/** HTTP/1.1 (also the fallback of the HTTP/2 listener): Node's own deadlines as a backstop, and a connection cap. */
function withServerLimits(app: App, limits: ServerLimits): App {
  const requestTimeoutMs = limits.requestTimeoutSeconds * 1000 + BACKSTOP_MS;
  app.server.requestTimeout = requestTimeoutMs;
  app.server.headersTimeout = Math.min(limits.headersTimeoutSeconds * 1000, requestTimeoutMs);
  app.server.maxConnections = limits.maxConnections;
  return app;
}

/** HTTP/2 has no request timeout of its own, and the session idle timer is reset by every frame. */
function withStreamDeadline(server: Http2SecureServer, deadlineMs: number): void {
  server.on('stream', (stream: ServerHttp2Stream) => {
    // After a reply (a refused body still arriving) the response is complete: NO_ERROR, not CANCEL.
    const timer = setTimeout(
      () => stream.close(stream.headersSent ? http2Constants.NGHTTP2_NO_ERROR : http2Constants.NGHTTP2_CANCEL),
      deadlineMs,
    );
    stream.once('close', () => clearTimeout(timer));
  });
}

/** The body budget is given back when the reply is done, however the request ends. */
function trackRequest(request: FastifyRequest, reply: FastifyReply, context: Context): void {
  const state: RequestState = { ticket: context.budget.ticket(), head: undefined, counted: false };
  context.states.set(request, state);
  reply.raw.once('finish', state.ticket.release);
  reply.raw.once('close', state.ticket.release);
}

function parseBody(
  request: FastifyRequest,
  payload: Readable,
  done: (error: Error | null, body?: Buffer) => void,
  context: Context,
): void {
  const state = context.states.get(request);
  // Not a review route (a 404): the body is discarded unread.
  if (state === undefined) return (payload.resume(), done(null));
  const declared = request.headers['content-length'];
  readBody(
    {
      payload,
      declaredLength: declared === undefined ? undefined : Number(declared),
      limitBytes: context.options.bodyLimitBytes,
      ticket: state.ticket,
      signal: request.signal,
      onHead: (head) => (state.head = head),
    },
    done,
  );
}

function handleReview(
  request: FastifyRequest,
  reply: FastifyReply,
  endpoint: Endpoint,
  context: Context,
): FastifyReply {
  const { options } = context;
  const started = process.hrtime.bigint();
  const body = request.body instanceof Uint8Array ? request.body : undefined;
  const outcome = reviewAdmission({ contentType: request.headers['content-type'], body }, options.policy, endpoint);
  const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  markCounted(request, context);
  bestEffort(
    () => observe(outcome, endpoint, durationSeconds, options),
    options.logger,
    'recording the review in the metrics',
  );
  bestEffort(
    () => logReview(options.logger, { outcome, endpoint, durationSeconds }),
    options.logger,
    'logging the review',
  );
  // Always HTTP 200: the API server reads the decision from the review, as controller-runtime answers.
  return reply.code(200).send(outcome.review);
}

/** True the first time only: a review is counted once, whatever fails after. */
function markCounted(request: FastifyRequest, context: Context): boolean {
  const state = context.states.get(request);
  if (state === undefined || state.counted) return false;
  state.counted = true;
  return true;
}

/** Logging and metrics are observers: a fault in them is reported if possible and never changes the answer. */
function bestEffort(task: () => void, logger: Logger, what: string): void {
  try {
    task();
  } catch (error: unknown) {
    try {
      logger.error(
        { err: { message: error instanceof Error ? error.message : String(error) } },
        `${what} failed; the answer is unchanged`,
      );
    } catch {
      // The logger is what failed; there is nowhere left to report it.
    }
  }
}

function observe(outcome: ReviewOutcome, endpoint: Endpoint, durationSeconds: number, options: AppOptions): void {
  const { metrics } = options;
  if (!outcome.ok) {
    recordError(metrics, { endpoint, code: outcome.code, mode: options.policy.globalMode, durationSeconds });
    return;
  }
  const { evaluation } = outcome;
  for (const violation of evaluation.violations)
    recordRuleOutcome(metrics.violations, violation.ruleId, violation.mode);
  for (const mutation of evaluation.mutations) recordMutation(metrics.mutations, mutation.ruleId, mutation.mode);
  for (const exemption of evaluation.exemptions) metrics.exemptions.inc({ rule: exemption.ruleId });
  recordReview(metrics, { endpoint, decision: outcome.decision, mode: evaluation.scopeMode, durationSeconds });
}

function replyWithTransportError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  context: Context,
): FastifyReply {
  const { options } = context;
  const endpoint = ROUTES.get(request.routeOptions.url ?? '');
  const code = transportErrorCode(error);
  const message = transportErrorMessage(error, code, context);
  bestEffort(
    () =>
      options.logger.warn(
        { code, path: request.routeOptions.url, err: { code: error.code, message: clipHeader(error.message) } },
        'request rejected before review',
      ),
    options.logger,
    'logging a rejected request',
  );
  endUnreadBody(request, reply, code === 408);
  if (endpoint === undefined) return reply.code(code).send({ status: 'error', code, message });
  if (markCounted(request, context)) {
    bestEffort(
      () => recordError(options.metrics, { endpoint, code, mode: options.policy.globalMode, durationSeconds: 0 }),
      options.logger,
      'recording the rejected request in the metrics',
    );
  }
  const head = context.states.get(request)?.head ?? (request.body instanceof Uint8Array ? request.body : undefined);
  return reply.code(200).send(transportErrorReview(code, message, sniffEcho(head)));
}

/**
 * A reply sent before the body was read to the end. HTTP/1.1 closes the connection (the rest of the
 * body would be read as the next request). HTTP/2 keeps the session: the rest of a refused body is
 * discarded unread until it ends or the deadline passes; a timed-out stream is closed with NO_ERROR once
 * the reply is out (RFC 9113 §8.1: a complete response, then RST_STREAM NO_ERROR). `connection` is not an
 * HTTP/2 header: Fastify's body-error path sets it, and Node would warn and drop it (fastify/fastify#7034).
 */
function endUnreadBody(request: FastifyRequest, reply: FastifyReply, timedOut: boolean): void {
  if (request.raw.httpVersionMajor !== 2) {
    if (!request.raw.complete) reply.header('connection', 'close');
    return;
  }
  reply.removeHeader('connection');
  const raw = request.raw as unknown as Http2ServerRequest;
  if (raw.complete) return;
  if (!timedOut) {
    raw.resume();
    return;
  }
  // The stream's own 'finish' (reply written): the compat response emits its 'finish' only at stream close.
  raw.stream.once('finish', () => {
    if (!raw.stream.closed) raw.stream.close(http2Constants.NGHTTP2_NO_ERROR);
  });
}

function transportErrorCode(error: FastifyError): number {
  if (error.code === 'FST_ERR_HANDLER_TIMEOUT') return 408;
  return error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
}

function transportErrorMessage(error: FastifyError, code: number, context: Context): string {
  if (code === 408) return `request was not received and reviewed within ${context.limits.requestTimeoutSeconds} s`;
  if (error instanceof BodyRefusedError) return error.message;
  if (code === 413) return `request body is larger than the limit of ${context.options.bodyLimitBytes} bytes`;
  if (code === 500) return 'internal error while reading the request';
  return clipHeader(error.message);
}
