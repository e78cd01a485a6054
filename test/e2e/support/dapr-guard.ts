/**
 * dapr-guard as a user runs it: `node dist/main.js` over HTTPS, its stdout (one JSON line per
 * review) written to a file of its own in the run's work directory, so that the log survives the
 * test process and can be attached to a failure. The file is never a pipe: a test process busy in
 * an assertion can then never stall the webhook's logging, and with it the API server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generateServingBundle } from '../../../src/tls/generate.ts';
import type { Mode } from '../../../src/admission/mode.ts';
import { freePort } from '../../support/process.ts';
import { REPO_ROOT, type ClusterInfo } from './cluster.ts';
import { eventually } from './wait.ts';

const MAIN = join(REPO_ROOT, 'dist', 'main.js');
/** --shutdown-grace-period-seconds: the longest wait for in-flight reviews after SIGTERM. */
const GRACE_PERIOD_SECONDS = 5;

/** The line dapr-guard logs for every review (src/server/review-log.ts). */
export interface ReviewLogLine {
  readonly msg: 'admission review';
  readonly endpoint: 'mutate' | 'validate';
  readonly uid: string;
  /** `apps/v1/Deployment`, `core/v1/Pod`, `dapr.io/v1alpha1/Component` */
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly operation: string;
  readonly user: string;
  readonly dryRun: boolean;
  readonly decision: 'allowed' | 'patched' | 'denied' | 'error';
  readonly mode: Mode;
  readonly rules: readonly string[];
  /** Rules whose patch was applied (enforce, warn). */
  readonly mutated: readonly string[];
  /** Rules that would have patched but are in audit mode. */
  readonly wouldMutate: readonly string[];
  /** Each rule that found or changed something, with the mode it was handled in. */
  readonly ruleModes: readonly { readonly id: string; readonly mode: Mode }[];
  readonly exempted: readonly string[];
}

export interface GuardOptions {
  /** The global mode (`--mode`). */
  readonly mode: Mode;
  /** Watch the `dapr-guard.io/mode` namespace labels with the cluster's kubeconfig (`--namespace-modes kubernetes`). */
  readonly namespaceModes?: boolean;
  readonly extraArgs?: readonly string[];
  /** More environment variables of the server process (`DAPR_GUARD_GUIDELINES`). */
  readonly env?: Readonly<Record<string, string>>;
}

const running = new Set<ChildProcess>();

// A test process that ends without its `after` hooks (uncaught error, process.exit) takes its
// dapr-guard processes with it. With the local harness, kube-down.sh also stops any that are
// left, through the pid files written below.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class DaprGuard {
  readonly port: number;
  /** Certificates and logs of this process. */
  readonly directory: string;
  readonly logFile: string;
  readonly stderrFile: string;
  /** PEM of the CA that signed the serving certificate: the webhooks' caBundle. */
  readonly caPem: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly pidFile: string | undefined;
  /** Where this process can reach the server (the listen address, or loopback for a wildcard). */
  private readonly localAddress: string;
  private barriers = 0;

  private constructor(fields: {
    port: number;
    directory: string;
    child: ChildProcess;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    pidFile: string | undefined;
    localAddress: string;
  }) {
    this.port = fields.port;
    this.directory = fields.directory;
    this.logFile = join(fields.directory, 'stdout.jsonl');
    this.stderrFile = join(fields.directory, 'stderr.log');
    this.child = fields.child;
    this.exited = fields.exited;
    this.pidFile = fields.pidFile;
    this.localAddress = fields.localAddress;
    this.caPem = readFileSync(join(fields.directory, 'ca.crt'), 'utf8');
  }

  /** Starts dist/main.js and waits until it serves. `name` names its directory in the work dir. */
  static async start(cluster: ClusterInfo, name: string, options: GuardOptions): Promise<DaprGuard> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm run test:e2e builds first)`);
    const port = await freePort();
    const directory = join(cluster.workDir, `dapr-guard-${name}-${port}`);
    mkdirSync(directory, { recursive: true });
    const args = [MAIN, ...serverArgs(cluster, directory, port, options)];
    const stdout = openSync(join(directory, 'stdout.jsonl'), 'a');
    const stderr = openSync(join(directory, 'stderr.log'), 'a');
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', stdout, stderr],
      env: serverEnv(cluster, options),
    });
    closeSync(stdout);
    closeSync(stderr);
    running.add(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => {
        running.delete(child);
        resolve({ code, signal });
      }),
    );
    const pidFile =
      cluster.harnessDir === null || child.pid === undefined
        ? undefined
        : join(cluster.harnessDir, 'run', `dapr-guard-${port}.pid`);
    if (pidFile !== undefined) writeFileSync(pidFile, `${child.pid}\n`);
    let exitCode: number | null | undefined;
    void exited.then(({ code }) => (exitCode = code));
    await eventually(
      async () => {
        if (exitCode !== undefined)
          throw new Error(`dapr-guard exited (${exitCode}): ${readText(join(directory, 'stderr.log'))}`);
        return /"msg":"dapr-guard is serving"/.test(readText(join(directory, 'stdout.jsonl'))) ? true : undefined;
      },
      { description: `dapr-guard (${directory}) to serve`, timeoutMs: 30_000, intervalMs: 100 },
    ).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    });
    const localAddress =
      cluster.listenHost === '0.0.0.0' || cluster.listenHost === '::' ? '127.0.0.1' : cluster.listenHost;
    return new DaprGuard({ port, directory, child, exited, pidFile, localAddress });
  }

  /** `https://<host>:<port><path>`: the URL the API server calls. */
  url(cluster: ClusterInfo, path: string): string {
    const host = isIP(cluster.webhookHost) === 6 ? `[${cluster.webhookHost}]` : cluster.webhookHost;
    return `https://${host}:${this.port}${path}`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Every complete JSON line logged so far (a line still being written is left out). */
  logLines(): Record<string, unknown>[] {
    const lines = readText(this.logFile).split('\n').slice(0, -1);
    return lines.flatMap((line): Record<string, unknown>[] => {
      try {
        const parsed: unknown = JSON.parse(line);
        return typeof parsed === 'object' && parsed !== null ? [parsed as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  /**
   * The review lines logged so far, optionally only those of one object name (a Pod created from
   * generateName has that prefix as its name at /mutate). dapr-guard writes its log asynchronously,
   * so a review the API server got an answer for may not be in the file yet: while the process runs,
   * a marker review is sent to it first and awaited in the file (lines are written in order).
   */
  async reviews(filter: { name?: string; namespace?: string } = {}): Promise<ReviewLogLine[]> {
    if (this.running) await this.flushLog();
    return this.reviewsLogged(filter);
  }

  /** The review lines in the file right now, without waiting for pending writes. */
  reviewsLogged(filter: { name?: string; namespace?: string } = {}): ReviewLogLine[] {
    return this.logLines()
      .filter(
        (line): line is Record<string, unknown> & ReviewLogLine =>
          line['msg'] === 'admission review' && line['namespace'] !== BARRIER_NAMESPACE,
      )
      .filter(
        (line) =>
          (filter.name === undefined || line.name === filter.name) &&
          (filter.namespace === undefined || line.namespace === filter.namespace),
      );
  }

  /** Sends a marker review straight to /validate and waits until its log line is in the file. */
  private async flushLog(): Promise<void> {
    this.barriers += 1;
    const name = `barrier-${this.barriers}`;
    await postReview(this.localAddress, this.port, this.caPem, barrierReview(name));
    await eventually(
      async () =>
        this.logLines().some((line) => line['namespace'] === BARRIER_NAMESPACE && line['name'] === name)
          ? true
          : undefined,
      { description: `dapr-guard to log the marker review ${name}`, timeoutMs: 10_000, intervalMs: 10 },
    );
  }

  /** The last `count` lines of the log, for a failure report. */
  logTail(count = 40): string {
    const lines = readText(this.logFile)
      .split('\n')
      .filter((line) => line !== '');
    return lines.slice(-count).join('\n');
  }

  /**
   * SIGTERM, then SIGKILL when it has not exited 5 s after its grace period (5 s, see serverArgs);
   * resolves with how it ended (signal SIGKILL: it did not stop by itself).
   */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), (GRACE_PERIOD_SECONDS + 5) * 1000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      if (this.pidFile !== undefined) rmSync(this.pidFile, { force: true });
    }
  }
}

function serverArgs(cluster: ClusterInfo, directory: string, port: number, options: GuardOptions): string[] {
  return [
    '--host',
    cluster.listenHost,
    '--port',
    String(port),
    '--metrics-enabled',
    'false',
    '--mode',
    options.mode,
    '--namespace-modes',
    options.namespaceModes === true ? 'kubernetes' : 'off',
    '--shutdown-delay-seconds',
    '0',
    '--shutdown-grace-period-seconds',
    String(GRACE_PERIOD_SECONDS),
    '--log-level',
    'info',
    ...tlsArgs(cluster, directory),
    ...(options.extraArgs ?? []),
  ];
}

/**
 * The server generates its CA and certificate on first start (SANs localhost, 127.0.0.1 and any
 * --tls-dns-names): the way a user runs it locally. Only an IP address other than loopback (a kind
 * node reaching the host at the docker bridge) needs a certificate made here, with that IP SAN.
 */
function tlsArgs(cluster: ClusterInfo, directory: string): string[] {
  const files = [
    '--tls-cert',
    join(directory, 'tls.crt'),
    '--tls-key',
    join(directory, 'tls.key'),
    '--tls-ca',
    join(directory, 'ca.crt'),
  ];
  const host = cluster.webhookHost;
  if (host === '127.0.0.1' || host === 'localhost' || host === '::1') return files;
  if (isIP(host) === 0) return [...files, '--tls-dns-names', host];
  const bundle = generateServingBundle({
    commonName: host,
    dnsNames: ['localhost'],
    ipAddresses: [host, '127.0.0.1'],
    validityDays: 2,
  });
  writeFileSync(join(directory, 'ca.crt'), bundle.ca.certPem);
  writeFileSync(join(directory, 'tls.crt'), bundle.serving.certPem);
  writeFileSync(join(directory, 'tls.key'), bundle.serving.keyPem, { mode: 0o600 });
  return [...files, '--tls-generate', 'false'];
}

/** The test's environment without DAPR_GUARD_* settings; KUBECONFIG only when the server should use the cluster. */
function serverEnv(cluster: ClusterInfo, options: GuardOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('DAPR_GUARD_') && key !== 'KUBECONFIG') env[key] = value;
  }
  if (options.namespaceModes === true) env['KUBECONFIG'] = cluster.kubeconfig;
  return { ...env, ...options.env };
}

/** The namespace of marker reviews (never a real one: the test posts them itself). */
const BARRIER_NAMESPACE = 'e2e-log-barrier';

function barrierReview(name: string): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: BARRIER_NAMESPACE,
      name,
      operation: 'CREATE',
      userInfo: { username: 'e2e-log-barrier' },
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: BARRIER_NAMESPACE } },
    },
  });
}

function postReview(host: string, port: number, ca: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host,
        port,
        path: '/validate',
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          response.statusCode === 200
            ? resolve()
            : reject(new Error(`marker review: HTTP ${response.statusCode ?? '?'}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function readText(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
