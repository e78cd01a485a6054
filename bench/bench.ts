// npm run bench: dapr-guard (dist/, every rule on) against a bare Fastify HTTPS server, measured in the
// same run on the same machine, reported as ratios.
// Usage: npm run bench [-- --duration <seconds per run>] [--rounds <n>] [--check (exit 1 when the target is missed)]
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { writeServingBundle } from '../src/certificates/files.ts';
import { freePort, spawnNode, type Spawned } from '../test/support/process.ts';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, check: { type: 'boolean', default: false } },
});
const DURATION_SECONDS = Number(values.duration);
/** Runs alternate between the two servers and the median is kept: the machine's noise hits both alike. */
const ROUNDS = Number(values.rounds);
const CONNECTIONS = [1, 16, 64] as const;
const TARGET = { connections: 16, minThroughputRatio: 0.85, maxP99Ratio: 1.3 };

const REPOSITORY = new URL('../', import.meta.url).pathname;
const POD_REVIEW = readFileSync(join(REPOSITORY, 'test/fixtures/reviews/pod-create-payments.json'), 'utf8');

interface Target {
  readonly name: string;
  readonly port: number;
  readonly process: Spawned;
}

interface Measurement {
  readonly requestsPerSecond: number;
  /** CPU time the server process spent per request: far less sensitive to a noisy machine than req/s. */
  readonly cpuMicrosPerRequest: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** The recorded ~7 KB Pod review, compacted as the API server sends it. */
function podReview(): string {
  return JSON.stringify(JSON.parse(POD_REVIEW));
}

/** The same Pod grown to ~200 KB with environment variables: the large-object case. */
function largeReview(): string {
  const review = JSON.parse(POD_REVIEW) as { request: { object: { spec: { containers: { env: unknown[] }[] } } } };
  const container = review.request.object.spec.containers[0];
  if (container === undefined) throw new Error('the recorded Pod has no container');
  for (let index = 0; JSON.stringify(review).length < 200 * 1024; index += 1) {
    container.env.push({ name: `FEATURE_FLAG_${index}`, value: `value-${index}-${'x'.repeat(60)}` });
  }
  return JSON.stringify(review);
}

async function startTargets(): Promise<Target[]> {
  const certs = mkdtempSync(join(tmpdir(), 'dapr-guard-bench-'));
  const files = { caFile: join(certs, 'ca.crt'), certFile: join(certs, 'tls.crt'), keyFile: join(certs, 'tls.key') };
  writeServingBundle({ ...files, dnsNames: [], serviceName: '', serviceNamespace: '', validityDays: 1 });
  const guardPort = await freePort();
  const guard = spawnNode(
    [join(REPOSITORY, 'dist/main.js'), '--port', String(guardPort), '--metrics-port', String(await freePort()), '--tls-cert', files.certFile, '--tls-key', files.keyFile, '--tls-generate', 'false'],
    { env: { KUBECONFIG: '', HOME: certs }, discardStdout: true },
  );
  const barePort = await freePort();
  const bare = spawnNode([join(REPOSITORY, 'bench/bare-server.ts'), files.certFile, files.keyFile, String(barePort)]);
  await Promise.all([guard.waitFor(/dapr-guard is listening/), bare.waitFor(/bare server listening/)]);
  // dapr-guard still writes one log line per review, as in production; the bench reads and drops them.
  return [
    { name: 'bare fastify', port: barePort, process: bare },
    { name: 'dapr-guard', port: guardPort, process: guard },
  ];
}

/** utime + stime of a process in clock ticks (100 per second on Linux). */
function cpuTicks(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid ?? 0}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

const TICKS_PER_SECOND = 100;

async function measure(target: Target, path: string, body: string, connections: number, duration: number): Promise<Measurement> {
  const port = target.port;
  const ticksBefore = cpuTicks(target.process.child.pid);
  const result = await autocannon({
    url: `https://127.0.0.1:${port}${path}`,
    servername: 'localhost',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration,
  });
  const cpuMicros = ((cpuTicks(target.process.child.pid) - ticksBefore) / TICKS_PER_SECOND) * 1e6;
  return {
    requestsPerSecond: result.requests.average,
    cpuMicrosPerRequest: cpuMicros / Math.max(result.requests.total, 1),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/** The run with the median throughput, with its own latencies. */
function median(runs: readonly Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('no runs');
  return { ...middle, errors: Math.max(...runs.map((run) => run.errors)), non2xx: Math.max(...runs.map((run) => run.non2xx)) };
}

function peakRssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid ?? 0}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

function row(label: string, guard: Measurement, bare: Measurement): string {
  const ratio = (a: number, b: number): string => (b === 0 ? 'n/a' : (a / b).toFixed(2));
  return [
    label.padEnd(22),
    `${Math.round(bare.requestsPerSecond)}`.padStart(9),
    `${Math.round(guard.requestsPerSecond)}`.padStart(9),
    ratio(guard.requestsPerSecond, bare.requestsPerSecond).padStart(7),
    `${bare.p50}/${bare.p99}`.padStart(11),
    `${guard.p50}/${guard.p99}`.padStart(11),
    ratio(guard.p99, bare.p99).padStart(8),
    `${Math.round(bare.cpuMicrosPerRequest)}/${Math.round(guard.cpuMicrosPerRequest)}`.padStart(11),
  ].join(' ');
}

async function main(): Promise<number> {
  const targets = await startTargets();
  const [bare, guard] = targets as [Target, Target];
  const cases = [
    ...CONNECTIONS.map((connections) => ({ label: `Pod /mutate, ${connections} conn`, path: '/mutate', body: podReview(), connections })),
    { label: 'Pod /validate, 16 conn', path: '/validate', body: podReview(), connections: 16 },
    { label: '200 KB /mutate, 16 conn', path: '/mutate', body: largeReview(), connections: 16 },
  ];
  const lines = [
    `dapr-guard benchmark: median of ${ROUNDS} alternating runs of ${DURATION_SECONDS}s, Node ${process.versions.node}, recorded Pod review ${podReview().length} bytes, large review ${largeReview().length} bytes`,
    `${'case'.padEnd(22)} ${'bare rps'.padStart(9)} ${'guard rps'.padStart(9)} ${'ratio'.padStart(7)} ${'bare p50/99'.padStart(11)} ${'guard p50/99'.padStart(11)} ${'p99 ×'.padStart(8)} ${'cpu µs/req'.padStart(11)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  let verdict = true;
  try {
    for (const benchCase of cases) {
      await measure(bare, benchCase.path, benchCase.body, benchCase.connections, 1);
      await measure(guard, benchCase.path, benchCase.body, benchCase.connections, 1);
      const bareRuns: Measurement[] = [];
      const guardRuns: Measurement[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        bareRuns.push(await measure(bare, benchCase.path, benchCase.body, benchCase.connections, DURATION_SECONDS));
        guardRuns.push(await measure(guard, benchCase.path, benchCase.body, benchCase.connections, DURATION_SECONDS));
      }
      const [bareResult, guardResult] = [median(bareRuns), median(guardRuns)];
      if (guardResult.errors + guardResult.non2xx + bareResult.errors + bareResult.non2xx > 0) throw new Error(`errors during ${benchCase.label}`);
      process.stdout.write(`${row(benchCase.label, guardResult, bareResult)}\n`);
      if (benchCase.path === '/mutate' && benchCase.connections === TARGET.connections && benchCase.body.length < 50_000) {
        const throughput = guardResult.requestsPerSecond / bareResult.requestsPerSecond;
        const p99 = guardResult.p99 / Math.max(bareResult.p99, 1);
        verdict = throughput >= TARGET.minThroughputRatio && p99 <= TARGET.maxP99Ratio;
        process.stdout.write(
          `  target at ${TARGET.connections} connections: throughput ${throughput.toFixed(2)}× (≥ ${TARGET.minThroughputRatio}), p99 ${p99.toFixed(2)}× (≤ ${TARGET.maxP99Ratio}): ${verdict ? 'met' : 'NOT met'}\n`,
        );
      }
    }
    process.stdout.write(`peak RSS: dapr-guard ${peakRssMiB(guard.process.child.pid)} MiB, bare fastify ${peakRssMiB(bare.process.child.pid)} MiB\n`);
  } finally {
    for (const target of targets) target.process.child.kill('SIGTERM');
    await Promise.all(targets.map((target) => target.process.exited));
  }
  return values.check && !verdict ? 1 : 0;
}

process.exitCode = await main();
