// npm run bench: dapr-guard (dist/, every rule on, one log line per review) against a bare Fastify
// HTTPS server with the same transport, measured in the same run on the same machine, as ratios.
// Usage: npm run bench [-- --duration <seconds per run>] [--rounds <n>] [--check]
//   --check  exit 1 when the target (TARGET below) is missed
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeServingBundle } from '../src/tls/files.ts';
import { freePort, spawnNode, type Spawned } from '../test/support/process.ts';
import { runLoad, type LoadResult, type Protocol } from './load.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    check: { type: 'boolean', default: false },
  },
});
const DURATION_SECONDS = Number(values.duration);
/** Runs alternate between the two servers and the median is kept: the machine's noise hits both alike. */
const ROUNDS = Number(values.rounds);
const TARGET = { connections: 16, minThroughputRatio: 0.85, maxP99Ratio: 1.3 };
const TICKS_PER_SECOND = 100;

const REPOSITORY = new URL('../', import.meta.url).pathname;
const POD_REVIEW = readFileSync(join(REPOSITORY, 'test/fixtures/reviews/pod-create-payments.json'), 'utf8');

interface Target {
  readonly name: string;
  readonly port: number;
  readonly process: Spawned;
}

interface Measurement extends LoadResult {
  /** CPU time the server process spent per request: far less sensitive to a noisy machine than req/s. */
  readonly cpuMicrosPerRequest: number;
}

interface Case {
  readonly label: string;
  readonly protocol: Protocol;
  readonly path: string;
  readonly body: Buffer;
  readonly connections: number;
  /** The case the target is judged on. */
  readonly target?: boolean;
}

/** The recorded Pod review, compacted as the API server sends it. */
function podReview(): Buffer {
  return Buffer.from(JSON.stringify(JSON.parse(POD_REVIEW)));
}

/** The same Pod grown to ~200 KB with environment variables: the large-object case. */
function largeReview(): Buffer {
  const review = JSON.parse(POD_REVIEW) as { request: { object: { spec: { containers: { env: unknown[] }[] } } } };
  const container = review.request.object.spec.containers[0];
  if (container === undefined) throw new Error('the recorded Pod has no container');
  for (let index = 0; JSON.stringify(review).length < 200 * 1024; index += 1) {
    container.env.push({ name: `FEATURE_FLAG_${index}`, value: `value-${index}-${'x'.repeat(60)}` });
  }
  return Buffer.from(JSON.stringify(review));
}

async function startTargets(): Promise<[Target, Target]> {
  const certs = mkdtempSync(join(tmpdir(), 'dapr-guard-bench-'));
  const files = { caFile: join(certs, 'ca.crt'), certFile: join(certs, 'tls.crt'), keyFile: join(certs, 'tls.key') };
  writeServingBundle({ ...files, dnsNames: [], serviceName: '', serviceNamespace: '', validityDays: 1 });
  const guardPort = await freePort();
  const guard = spawnNode(
    [
      join(REPOSITORY, 'dist/main.js'),
      '--port',
      String(guardPort),
      '--metrics-port',
      String(await freePort()),
      '--tls-cert',
      files.certFile,
      '--tls-key',
      files.keyFile,
      '--tls-generate',
      'false',
    ],
    // dapr-guard writes one log line per review, as in production; the bench reads and drops them.
    { env: { KUBECONFIG: '', HOME: certs }, discardStdout: true },
  );
  const barePort = await freePort();
  const bare = spawnNode([join(REPOSITORY, 'bench/bare-server.ts'), files.certFile, files.keyFile, String(barePort)]);
  await Promise.all([guard.waitFor(/dapr-guard is listening/), bare.waitFor(/bare server listening/)]);
  return [
    { name: 'bare fastify', port: barePort, process: bare },
    { name: 'dapr-guard', port: guardPort, process: guard },
  ];
}

/** utime + stime of a process in clock ticks. */
function cpuTicks(pid: number | undefined): number {
  const fields =
    readFileSync(`/proc/${pid ?? 0}/stat`, 'utf8')
      .split(') ')[1]
      ?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

async function measure(target: Target, benchCase: Case, durationSeconds: number): Promise<Measurement> {
  const ticksBefore = cpuTicks(target.process.child.pid);
  const result = await runLoad({
    port: target.port,
    path: benchCase.path,
    body: benchCase.body,
    connections: benchCase.connections,
    durationSeconds,
    protocol: benchCase.protocol,
  });
  const cpuMicros = ((cpuTicks(target.process.child.pid) - ticksBefore) / TICKS_PER_SECOND) * 1e6;
  return { ...result, cpuMicrosPerRequest: cpuMicros / Math.max(result.requests, 1) };
}

/** The run with the median throughput, with its own latencies. */
function median(runs: readonly Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('no runs');
  return { ...middle, failures: Math.max(...runs.map((run) => run.failures)) };
}

function peakRssMiB(pid: number | undefined): number {
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid ?? 0}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

const COLUMNS = [
  'case',
  'bare rps',
  'guard rps',
  'ratio',
  'bare p50/p99 µs',
  'guard p50/p99 µs',
  'p99 ×',
  'cpu µs/req',
];
const WIDTHS = [30, 9, 9, 6, 16, 17, 6, 11];

function row(cells: readonly string[]): string {
  return cells
    .map((cell, index) => (index === 0 ? cell.padEnd(WIDTHS[index] ?? 0) : cell.padStart(WIDTHS[index] ?? 0)))
    .join(' ');
}

function resultRow(label: string, guard: Measurement, bare: Measurement): string {
  return row([
    label,
    `${Math.round(bare.requestsPerSecond)}`,
    `${Math.round(guard.requestsPerSecond)}`,
    (guard.requestsPerSecond / bare.requestsPerSecond).toFixed(2),
    `${bare.latencyMicros.p50}/${bare.latencyMicros.p99}`,
    `${guard.latencyMicros.p50}/${guard.latencyMicros.p99}`,
    (guard.latencyMicros.p99 / bare.latencyMicros.p99).toFixed(2),
    `${Math.round(bare.cpuMicrosPerRequest)}/${Math.round(guard.cpuMicrosPerRequest)}`,
  ]);
}

function cases(): Case[] {
  const pod = podReview();
  const perProtocol = (protocol: Protocol): Case[] => [
    ...[1, 16, 64].map((connections) => ({
      label: `${protocol} Pod /mutate ×${connections}`,
      protocol,
      path: '/mutate',
      body: pod,
      connections,
      target: connections === TARGET.connections,
    })),
    { label: `${protocol} Pod /validate ×16`, protocol, path: '/validate', body: pod, connections: 16 },
  ];
  return [
    ...perProtocol('h2'),
    ...perProtocol('http/1.1'),
    { label: 'h2 200 KB /mutate ×16', protocol: 'h2', path: '/mutate', body: largeReview(), connections: 16 },
  ];
}

async function compare(bare: Target, guard: Target, benchCase: Case): Promise<[Measurement, Measurement]> {
  await measure(bare, benchCase, 1);
  await measure(guard, benchCase, 1);
  const bareRuns: Measurement[] = [];
  const guardRuns: Measurement[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    bareRuns.push(await measure(bare, benchCase, DURATION_SECONDS));
    guardRuns.push(await measure(guard, benchCase, DURATION_SECONDS));
  }
  const [bareResult, guardResult] = [median(bareRuns), median(guardRuns)];
  if (bareResult.failures + guardResult.failures > 0) throw new Error(`failed requests during ${benchCase.label}`);
  return [bareResult, guardResult];
}

function verdict(benchCase: Case, bare: Measurement, guard: Measurement): boolean {
  const throughput = guard.requestsPerSecond / bare.requestsPerSecond;
  const p99 = guard.latencyMicros.p99 / bare.latencyMicros.p99;
  const met = throughput >= TARGET.minThroughputRatio && p99 <= TARGET.maxP99Ratio;
  process.stdout.write(
    `  target (${benchCase.protocol}, ${TARGET.connections} connections): throughput ${throughput.toFixed(2)}× (≥ ${TARGET.minThroughputRatio}), p99 ${p99.toFixed(2)}× (≤ ${TARGET.maxP99Ratio}): ${met ? 'met' : 'NOT met'}\n`,
  );
  return met;
}

async function main(): Promise<number> {
  const [bare, guard] = await startTargets();
  const pod = podReview();
  process.stdout.write(
    `dapr-guard benchmark: median of ${ROUNDS} alternating runs of ${DURATION_SECONDS} s; Node ${process.versions.node}; Pod review ${pod.length} bytes, large review ${largeReview().length} bytes\n${row(COLUMNS)}\n`,
  );
  const verdicts: boolean[] = [];
  try {
    for (const benchCase of cases()) {
      const [bareResult, guardResult] = await compare(bare, guard, benchCase);
      process.stdout.write(`${resultRow(benchCase.label, guardResult, bareResult)}\n`);
      if (benchCase.target === true) verdicts.push(verdict(benchCase, bareResult, guardResult));
    }
    process.stdout.write(
      `peak RSS: dapr-guard ${peakRssMiB(guard.process.child.pid)} MiB, bare fastify ${peakRssMiB(bare.process.child.pid)} MiB\n`,
    );
  } finally {
    for (const target of [bare, guard]) target.process.child.kill('SIGTERM');
    await Promise.all([bare, guard].map((target) => target.process.exited));
  }
  return values.check && verdicts.includes(false) ? 1 : 0;
}

process.exitCode = await main();
