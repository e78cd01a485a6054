// A dapr-guard process (dist/main.js) on loopback for the reliability scenarios, with its certificate
// files in a directory laid out as the kubelet mounts a Secret, and what the scenarios read from it:
// metrics, probes, /proc figures.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdmissionReview } from '../../../src/admission/wire.ts';
import {
  generateServingBundle,
  issueServingCertificate,
  type CertificatePair,
  type ServingBundle,
} from '../../../src/tls/generate.ts';
import { fixtureText } from '../../support/fixtures.ts';
import { freePort, spawnNode, type Spawned } from '../../support/process.ts';
import type { LoadRequest } from '../../../bench/load.ts';

const MAIN = new URL('../../../dist/main.js', import.meta.url).pathname;

/** `RELIABILITY_LONG=1`: the durations of the README figures instead of the short form run by `.ci/run`. */
export const LONG = process.env['RELIABILITY_LONG'] === '1';

/** The recorded ~7 KB Pod review the benchmark uses, compacted as the API server sends it. */
export const POD_REVIEW = Buffer.from(JSON.stringify(JSON.parse(fixtureText('reviews/pod-create-payments.json'))));

const LOCALHOST = { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 2 };

export function newLocalhostBundle(): ServingBundle {
  return generateServingBundle(LOCALHOST);
}

export function renewedBy(ca: CertificatePair): CertificatePair {
  return issueServingCertificate(ca, LOCALHOST);
}

/**
 * A directory as the kubelet mounts a Secret: `tls.crt` and `tls.key` are links into `..data`, itself a
 * link to a timestamped directory; a renewal writes a new directory and swaps `..data` in one rename.
 */
export class MountedSecret {
  readonly dir = mkdtempSync(join(tmpdir(), 'reliability-secret-'));
  readonly certFile = join(this.dir, 'tls.crt');
  readonly keyFile = join(this.dir, 'tls.key');
  private generation = 0;

  constructor(pair: CertificatePair) {
    this.write(pair);
    symlinkSync('..data/tls.crt', this.certFile);
    symlinkSync('..data/tls.key', this.keyFile);
  }

  write(pair: CertificatePair): void {
    this.generation += 1;
    const version = `..${this.generation}`;
    mkdirSync(join(this.dir, version));
    writeFileSync(join(this.dir, version, 'tls.crt'), pair.certPem);
    writeFileSync(join(this.dir, version, 'tls.key'), pair.keyPem);
    symlinkSync(version, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
  }
}

export interface Guard extends Spawned {
  readonly port: number;
  readonly metricsPort: number;
}

/** dist/main.js serving `secret`'s files, without a cluster; stdout (the JSON logs) collected unless `quiet`. */
export async function startGuard(
  secret: Pick<MountedSecret, 'certFile' | 'keyFile'>,
  extraArgs: readonly string[] = [],
  options: { readonly quiet?: boolean } = {},
): Promise<Guard> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const home = mkdtempSync(join(tmpdir(), 'reliability-home-'));
  const spawned = spawnNode(
    [
      MAIN,
      ...['--port', String(port), '--metrics-port', String(metricsPort)],
      ...['--tls-cert', secret.certFile, '--tls-key', secret.keyFile, '--tls-generate', 'false'],
      ...extraArgs,
    ],
    { cwd: home, env: { KUBECONFIG: '', HOME: home }, discardStdout: options.quiet === true },
  );
  await spawned.waitFor(/dapr-guard is (serving|listening)/);
  return { ...spawned, port, metricsPort };
}

/** A plain-HTTP GET on the metrics port: its status and body. */
export function getPlain(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** The value of one series of a /metrics text (`name{labels} value`), or undefined when it is not there. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

export async function scrapeMetric(metricsPort: number, series: string): Promise<number | undefined> {
  return metricValue((await getPlain(metricsPort, '/metrics')).body, series);
}

/** Polls until `check` holds, up to `timeoutMs`; false when it never did. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

/** Whether a body is a well-formed AdmissionReview answering the review `request` carried (same uid). */
export function answersReview(request: Pick<LoadRequest, 'body'>, body: Buffer): boolean {
  try {
    const sent = JSON.parse(request.body.toString('utf8')) as AdmissionReview;
    const answer = JSON.parse(body.toString('utf8')) as AdmissionReview;
    return (
      answer.kind === 'AdmissionReview' &&
      answer.response !== undefined &&
      typeof answer.response.allowed === 'boolean' &&
      answer.response.uid === sent.request?.uid
    );
  } catch {
    return false;
  }
}

/** Resident memory (bytes), open file descriptors and CPU time (seconds) of a process, from /proc. */
export function processFigures(pid: number): { rssBytes: number; fds: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { rssBytes: rssKib * 1024, fds: readdirSync(`/proc/${pid}/fd`).length, cpuSeconds: ticks / CLOCK_TICKS };
}

/** USER_HZ on Linux. */
const CLOCK_TICKS = 100;
