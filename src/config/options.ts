import { MODES } from '../admission/mode.ts';
import { DEFAULT_GUIDELINES, GUIDELINES } from '../rules/support/guidelines.ts';

/** The value types a scalar option can have; env and flag strings are converted to them. */
export type OptionType =
  | { readonly kind: 'string' }
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'list' };

export interface OptionSpec {
  /** Dotted path in the YAML configuration file. */
  readonly path: string;
  readonly type: OptionType;
  readonly default: string | number | boolean | readonly string[];
  readonly description: string;
  readonly env?: string;
  readonly flag?: string;
}

const PORT: OptionType = { kind: 'integer', min: 1, max: 65535 };
const SECONDS: OptionType = { kind: 'integer', min: 0, max: 86_400 };
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/**
 * The largest review the API server can send: an UPDATE carries the new object (the API server's
 * request limit, 3 MiB) and the stored one (etcd's value limit, 1.5 MiB), plus the envelope. Anything
 * larger did not come from the API server (controller-runtime's 7 MiB assumes two 3 MiB objects).
 */
export const DEFAULT_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
/**
 * Bytes of request bodies read and parsed at once, across all requests: two largest reviews. A
 * worst-case body (deeply nested empty arrays) costs ~30 bytes of heap per byte while it is parsed
 * (7 MiB measured at +216 MiB RSS), so this keeps a replica within the chart's 512 Mi.
 */
export const DEFAULT_MAX_INFLIGHT_BODY_BYTES = 2 * DEFAULT_BODY_LIMIT_BYTES;
/** The API server gives up on a webhook after its timeoutSeconds, at most 30 s. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
export const DEFAULT_HEADERS_TIMEOUT_SECONDS = 10;
export const DEFAULT_MAX_CONCURRENT_STREAMS = 128;
export const DEFAULT_MAX_CONNECTIONS = 1024;
const BYTES: OptionType = { kind: 'integer', min: 1024, max: 1024 * 1024 * 1024 };

/** Every scalar setting: the one source for validation, environment variables, flags and --help. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    path: 'mode',
    type: { kind: 'enum', values: MODES },
    default: 'enforce',
    env: 'DAPR_GUARD_MODE',
    flag: 'mode',
    description: 'Default mode: enforce (deny), warn (allow with warnings) or audit (allow, record only).',
  },
  {
    path: 'guidelines',
    type: { kind: 'enum', values: GUIDELINES },
    default: DEFAULT_GUIDELINES,
    env: 'DAPR_GUARD_GUIDELINES',
    flag: 'guidelines',
    description:
      'Edition of the Dapr production guidelines the defaults follow: dapr-0.11 (sidecar limits 4/4000Mi, control-plane memory limits) or dapr-1.13 (the page since Dapr 1.13, through 1.18: sidecar limits 300m/1000Mi plus GOMEMLIMIT in dapr.io/env, control-plane memory requests only). rules.<id> options still override.',
  },
  {
    path: 'server.host',
    type: { kind: 'string' },
    default: '127.0.0.1',
    env: 'DAPR_GUARD_HOST',
    flag: 'host',
    description: 'Address the HTTPS server listens on.',
  },
  {
    path: 'server.port',
    type: PORT,
    default: 8443,
    env: 'DAPR_GUARD_PORT',
    flag: 'port',
    description: 'HTTPS port for /mutate, /validate, /healthz and /readyz.',
  },
  {
    path: 'server.bodyLimitBytes',
    type: { kind: 'integer', min: 1024, max: 64 * 1024 * 1024 },
    default: DEFAULT_BODY_LIMIT_BYTES,
    env: 'DAPR_GUARD_BODY_LIMIT_BYTES',
    flag: 'body-limit-bytes',
    description: 'Largest AdmissionReview accepted; larger bodies get a 413 review response.',
  },
  {
    path: 'server.maxInflightBodyBytes',
    type: BYTES,
    default: DEFAULT_MAX_INFLIGHT_BODY_BYTES,
    env: 'DAPR_GUARD_MAX_INFLIGHT_BODY_BYTES',
    flag: 'max-inflight-body-bytes',
    description:
      'Request body bytes read and reviewed at once across all requests (at least server.bodyLimitBytes); beyond it a review gets a 429 review response at once.',
  },
  {
    path: 'server.requestTimeoutSeconds',
    type: { kind: 'integer', min: 1, max: 300 },
    default: DEFAULT_REQUEST_TIMEOUT_SECONDS,
    env: 'DAPR_GUARD_REQUEST_TIMEOUT_SECONDS',
    flag: 'request-timeout-seconds',
    description:
      'Deadline for receiving and reviewing one request, HTTP/2 stream or HTTP/1.1 request alike; then a 408 review response.',
  },
  {
    path: 'server.headersTimeoutSeconds',
    type: { kind: 'integer', min: 1, max: 300 },
    default: DEFAULT_HEADERS_TIMEOUT_SECONDS,
    env: 'DAPR_GUARD_HEADERS_TIMEOUT_SECONDS',
    flag: 'headers-timeout-seconds',
    description: 'HTTP/1.1: deadline for receiving the request headers (at most server.requestTimeoutSeconds).',
  },
  {
    path: 'server.maxConcurrentStreams',
    type: { kind: 'integer', min: 1, max: 65_535 },
    default: DEFAULT_MAX_CONCURRENT_STREAMS,
    env: 'DAPR_GUARD_MAX_CONCURRENT_STREAMS',
    flag: 'max-concurrent-streams',
    description: 'HTTP/2: streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).',
  },
  {
    path: 'server.maxConnections',
    type: { kind: 'integer', min: 1, max: 65_535 },
    default: DEFAULT_MAX_CONNECTIONS,
    env: 'DAPR_GUARD_MAX_CONNECTIONS',
    flag: 'max-connections',
    description: 'Connections the HTTPS listener accepts at once; further ones are closed on arrival.',
  },
  {
    path: 'server.shutdownDelaySeconds',
    type: SECONDS,
    default: 0,
    env: 'DAPR_GUARD_SHUTDOWN_DELAY_SECONDS',
    flag: 'shutdown-delay-seconds',
    description: 'After SIGTERM, keep serving (not ready) this long so the API server stops routing here.',
  },
  {
    path: 'server.shutdownGracePeriodSeconds',
    type: SECONDS,
    default: 25,
    env: 'DAPR_GUARD_SHUTDOWN_GRACE_PERIOD_SECONDS',
    flag: 'shutdown-grace-period-seconds',
    description: 'Longest wait for in-flight reviews after SIGTERM before connections are closed.',
  },
  {
    path: 'tls.certFile',
    type: { kind: 'string' },
    default: 'certs/tls.crt',
    env: 'DAPR_GUARD_TLS_CERT',
    flag: 'tls-cert',
    description: 'Serving certificate (PEM).',
  },
  {
    path: 'tls.keyFile',
    type: { kind: 'string' },
    default: 'certs/tls.key',
    env: 'DAPR_GUARD_TLS_KEY',
    flag: 'tls-key',
    description: 'Serving private key (PEM).',
  },
  {
    path: 'tls.caFile',
    type: { kind: 'string' },
    default: 'certs/ca.crt',
    env: 'DAPR_GUARD_TLS_CA',
    flag: 'tls-ca',
    description: 'CA certificate written next to a generated serving certificate.',
  },
  {
    path: 'tls.clientCAFile',
    type: { kind: 'string' },
    default: '',
    env: 'DAPR_GUARD_TLS_CLIENT_CA',
    flag: 'tls-client-ca',
    description:
      'CA (PEM) for client certificates: when set, only callers presenting a certificate it signed (the API server) complete the TLS handshake.',
  },
  {
    path: 'tls.generateIfMissing',
    type: { kind: 'boolean' },
    default: true,
    env: 'DAPR_GUARD_TLS_GENERATE',
    flag: 'tls-generate',
    description: 'Generate a CA and serving certificate into the file paths above when they do not exist.',
  },
  {
    path: 'tls.dnsNames',
    type: { kind: 'list' },
    default: [],
    env: 'DAPR_GUARD_TLS_DNS_NAMES',
    flag: 'tls-dns-names',
    description: 'Extra DNS names for a generated certificate (comma-separated), besides localhost and 127.0.0.1.',
  },
  {
    path: 'tls.serviceName',
    type: { kind: 'string' },
    default: '',
    env: 'DAPR_GUARD_SERVICE_NAME',
    flag: 'service-name',
    description:
      'In-cluster Service name: a generated certificate also covers svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local.',
  },
  {
    path: 'tls.serviceNamespace',
    type: { kind: 'string' },
    default: '',
    env: 'DAPR_GUARD_SERVICE_NAMESPACE',
    flag: 'service-namespace',
    description: 'Namespace of that Service.',
  },
  {
    path: 'tls.reloadIntervalSeconds',
    type: { kind: 'integer', min: 1, max: 3600 },
    default: 10,
    env: 'DAPR_GUARD_TLS_RELOAD_INTERVAL_SECONDS',
    flag: 'tls-reload-interval-seconds',
    description: 'How often the certificate files are checked for a renewed pair (hot reload, no restart).',
  },
  {
    path: 'tls.selfManaged.enabled',
    type: { kind: 'boolean' },
    default: false,
    env: 'DAPR_GUARD_TLS_SELF_MANAGED',
    flag: 'tls-self-managed',
    description:
      'In a cluster: create the CA and serving certificate, keep them in a Secret shared by all replicas, renew them, and patch caBundle into the webhook configurations.',
  },
  {
    path: 'tls.selfManaged.secretName',
    type: { kind: 'string' },
    default: 'dapr-guard-tls',
    env: 'DAPR_GUARD_TLS_SECRET_NAME',
    flag: 'tls-secret-name',
    description: 'Secret that holds the self-managed CA and certificate.',
  },
  {
    path: 'tls.selfManaged.secretNamespace',
    type: { kind: 'string' },
    default: '',
    env: 'DAPR_GUARD_TLS_SECRET_NAMESPACE',
    flag: 'tls-secret-namespace',
    description: 'Namespace of that Secret (empty: tls.serviceNamespace).',
  },
  {
    path: 'tls.selfManaged.mutatingWebhookConfiguration',
    type: { kind: 'string' },
    default: '',
    env: 'DAPR_GUARD_MUTATING_WEBHOOK_CONFIGURATION',
    flag: 'mutating-webhook-configuration',
    description: 'MutatingWebhookConfiguration whose caBundle is kept in step with the self-managed CA.',
  },
  {
    path: 'tls.selfManaged.validatingWebhookConfiguration',
    type: { kind: 'string' },
    default: '',
    env: 'DAPR_GUARD_VALIDATING_WEBHOOK_CONFIGURATION',
    flag: 'validating-webhook-configuration',
    description: 'ValidatingWebhookConfiguration whose caBundle is kept in step with the self-managed CA.',
  },
  {
    path: 'tls.selfManaged.validityDays',
    type: { kind: 'integer', min: 2, max: 3650 },
    default: 365,
    env: 'DAPR_GUARD_TLS_VALIDITY_DAYS',
    flag: 'tls-validity-days',
    description: 'Validity of self-managed certificates.',
  },
  {
    path: 'tls.selfManaged.renewBeforeDays',
    type: { kind: 'integer', min: 1, max: 3649 },
    default: 30,
    env: 'DAPR_GUARD_TLS_RENEW_BEFORE_DAYS',
    flag: 'tls-renew-before-days',
    description: 'Renew self-managed certificates this many days before they expire.',
  },
  {
    path: 'tls.selfManaged.checkIntervalSeconds',
    type: { kind: 'integer', min: 1, max: 86_400 },
    default: 60,
    env: 'DAPR_GUARD_TLS_CHECK_INTERVAL_SECONDS',
    flag: 'tls-check-interval-seconds',
    description:
      'How often the self-managed Secret is read again (renewals, other replicas) and the caBundle re-published where it drifted.',
  },
  {
    path: 'metrics.enabled',
    type: { kind: 'boolean' },
    default: true,
    env: 'DAPR_GUARD_METRICS_ENABLED',
    flag: 'metrics-enabled',
    description: 'Serve Prometheus metrics over plain HTTP.',
  },
  {
    path: 'metrics.host',
    type: { kind: 'string' },
    default: '127.0.0.1',
    env: 'DAPR_GUARD_METRICS_HOST',
    flag: 'metrics-host',
    description: 'Address of the metrics server.',
  },
  {
    path: 'metrics.port',
    type: PORT,
    default: 9090,
    env: 'DAPR_GUARD_METRICS_PORT',
    flag: 'metrics-port',
    description: 'Port of the metrics server (/metrics).',
  },
  {
    path: 'log.level',
    type: { kind: 'enum', values: LOG_LEVELS },
    default: 'info',
    env: 'DAPR_GUARD_LOG_LEVEL',
    flag: 'log-level',
    description: 'pino log level.',
  },
  {
    path: 'exemptions.enabled',
    type: { kind: 'boolean' },
    default: true,
    env: 'DAPR_GUARD_EXEMPTIONS_ENABLED',
    flag: 'exemptions-enabled',
    description: 'Honour dapr-guard.io/exempt annotations (which need dapr-guard.io/exempt-reason).',
  },
  {
    path: 'exemptions.allowedGroups',
    type: { kind: 'list' },
    default: ['system:masters'],
    env: 'DAPR_GUARD_EXEMPTIONS_ALLOWED_GROUPS',
    flag: 'exemptions-allowed-groups',
    description:
      'Groups (comma-separated) whose members may add or change dapr-guard.io/exempt annotations and the dapr-guard.io/ignore and dapr-guard.io/mode namespace labels; from anyone else they are ignored or refused.',
  },
  {
    path: 'exemptions.namespaces',
    type: { kind: 'list' },
    default: [],
    env: 'DAPR_GUARD_EXEMPTIONS_NAMESPACES',
    flag: 'exemptions-namespaces',
    description: 'Namespaces (comma-separated) where exemptions count; empty: every namespace.',
  },
  {
    path: 'namespaceModes.source',
    type: { kind: 'enum', values: ['auto', 'kubernetes', 'off'] },
    default: 'auto',
    env: 'DAPR_GUARD_NAMESPACE_MODES',
    flag: 'namespace-modes',
    description:
      'Where dapr-guard.io/mode namespace labels come from: kubernetes (watch Namespaces), off, or auto (watch when a cluster is configured).',
  },
];
