// The audit at scale: 10,000 objects in 100 namespaces on the local API server (the e2e harness's
// kube-apiserver 1.37.2 with kube-controller-manager), then `dapr-guard audit -o json` from dist/,
// timed from start to exit, its peak RSS from /usr/bin/time. Targets (issue 13): < 30 s, < 150 MiB.
// Usage: npm run build && npx node bench/audit.ts [--namespaces 100] [--per-namespace 100] [--check]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../src/admission/wire.ts';
import { REPO_ROOT, startCluster, stopCluster } from '../test/e2e/support/cluster.ts';
import { Kubectl, toManifest } from '../test/e2e/support/kubectl.ts';
import { daprApp, deployment, namespaceObject, pod, redisWithPlaintextPassword } from '../test/e2e/support/objects.ts';

const { values } = parseArgs({
  options: {
    namespaces: { type: 'string', default: '100' },
    'per-namespace': { type: 'string', default: '100' },
    check: { type: 'boolean', default: false },
  },
});
const NAMESPACES = Number(values.namespaces);
const PER_NAMESPACE = Number(values['per-namespace']);
const TARGET = { seconds: 30, rssMiB: 150 };

/**
 * One namespace's objects: 40% Dapr Pods with an injected daprd (some without resources), 30% Deployments
 * (replicas 0: the controller adds a ReplicaSet each, which the audit lists too), 20% Components
 * (half with a plaintext secret), 10% plain Pods.
 */
function objectsOf(namespace: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (let index = 0; index < PER_NAMESPACE; index += 1) {
    const slot = index % 10;
    const name = `o-${index}`;
    if (slot < 4) {
      const base = pod(name, namespace, daprApp(name));
      const spec = base['spec'] as { containers: unknown[] };
      spec.containers.push({ name: 'daprd', image: `ghcr.io/dapr/daprd:1.18.${slot % 2 === 0 ? 3 : 2}` });
      objects.push(base);
    } else if (slot < 7) objects.push(deployment(name, namespace, daprApp(name), 0));
    else if (slot < 9) objects.push(redisWithPlaintextPassword(name, namespace, slot === 7 ? 'bench-secret' : ''));
    else objects.push(pod(name, namespace, {}));
  }
  return objects;
}

interface Measured {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `/usr/bin/time -f %M node dist/main.js audit …`: wall time here, peak RSS (KiB) from time(1). */
async function measureAudit(kubeconfig: string, nodeOptions: string): Promise<Measured> {
  const started = process.hrtime.bigint();
  const child = spawn(
    '/usr/bin/time',
    [
      '-f',
      'maxrss-kib %M',
      process.execPath,
      join(REPO_ROOT, 'dist', 'main.js'),
      'audit',
      '--kubeconfig',
      kubeconfig,
      '-o',
      'json',
    ],
    {
      env: { ...process.env, KUBECONFIG: '', NODE_OPTIONS: nodeOptions },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = /maxrss-kib (\d+)/.exec(stderr);
  if (rss?.[1] === undefined) throw new Error(`no RSS from /usr/bin/time: ${stderr}`);
  return { seconds, rssMiB: Number(rss[1]) / 1024, code, stdout, stderr };
}

const cluster = await startCluster();
try {
  const kubectl = new Kubectl(cluster.kubeconfig, cluster.kubectl);
  const names = Array.from({ length: NAMESPACES }, (_, index) => `bench-audit-${index}`);
  await kubectl.ok(['apply', '-f', '-'], { input: toManifest(names.map((name) => namespaceObject(name))) });
  const loadStarted = Date.now();
  for (const name of names) await kubectl.ok(['create', '-f', '-'], { input: toManifest(objectsOf(name)) });
  process.stdout.write(
    `created ${NAMESPACES * PER_NAMESPACE} objects in ${NAMESPACES} namespaces in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s\n`,
  );
  for (const nodeOptions of ['']) {
    const run = await measureAudit(cluster.kubeconfig, nodeOptions);
    const report = JSON.parse(run.stdout) as {
      summary: { objects: number; violations: Record<string, number>; mutations: number };
    };
    const listed = run.stderr.split('\n').find((line) => line.includes('listed ')) ?? '';
    process.stdout.write(
      [
        listed,
        `audit (NODE_OPTIONS=${nodeOptions}): exit ${run.code}, ${run.seconds.toFixed(1)} s, peak RSS ${run.rssMiB.toFixed(0)} MiB; ${report.summary.objects} objects in the report, ` +
          `violations ${JSON.stringify(report.summary.violations)}, ${report.summary.mutations} would-be changes`,
        `target: < ${TARGET.seconds} s, < ${TARGET.rssMiB} MiB`,
        '',
      ].join('\n'),
    );
    if (values.check && (run.seconds >= TARGET.seconds || run.rssMiB >= TARGET.rssMiB)) process.exitCode = 1;
  }
} finally {
  await stopCluster(cluster);
}
