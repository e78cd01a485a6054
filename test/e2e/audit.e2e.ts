/**
 * `dapr-guard audit` against the real API server: objects stored while no dapr-guard was registered
 * are found at their owner, a sidecar left on an old daprd after the injector's sidecar image changed
 * is found with its rollout command, an expiring trust bundle is found, and a ServiceAccount with less
 * than the audit's permissions gets each missing one named once while the rest still runs.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { generateCertificateAuthority } from '../../src/tls/generate.ts';
import { parseManifests } from '../support/helm.ts';
import { spawnNode } from '../support/process.ts';
import {
  type ClusterInfo,
  DAPR_MANIFESTS,
  markFailed,
  REPO_ROOT,
  sharedCluster,
  startCluster,
  stopCluster,
} from './support/cluster.ts';
import { Kubectl, toManifest } from './support/kubectl.ts';
import {
  daprApp,
  deployment,
  namespaceObject,
  PRODUCTION_SIDECAR_ANNOTATIONS,
  randomSuffix,
  redisWithPlaintextPassword,
  secretValue,
} from './support/objects.ts';
import { eventually } from './support/wait.ts';

/** The JSON format of dapr-guard check and audit (docs/report-json.md). */
interface AuditJson {
  readonly summary: {
    passed: boolean;
    objects: number;
    violations: Record<string, number>;
    mutations: number;
    problems: number;
  };
  readonly findings: {
    cluster: string | null;
    object: { apiVersion: string; kind: string; namespace?: string; name: string };
    type: string;
    ruleId: string;
    mode: string;
    message: string;
  }[];
  readonly problems: { source: string; message: string }[];
}

let cluster: ClusterInfo;
let ownsCluster = false;
let kubectl: Kubectl;
const suffix = randomSuffix();
const APP = `e2e-audit-app-${suffix}`;
const CONTROL_PLANE = `e2e-audit-cp-${suffix}`;
const password = secretValue();

async function audit(
  args: readonly string[],
  kubeconfig = cluster.kubeconfig,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = spawnNode([join(REPO_ROOT, 'dist', 'main.js'), 'audit', '--kubeconfig', kubeconfig, ...args], {
    env: { KUBECONFIG: '' },
  });
  const { code } = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

async function auditJson(
  args: readonly string[],
  kubeconfig?: string,
): Promise<{ code: number | null; result: AuditJson; stdout: string; notes: string[] }> {
  const run = await audit(['-o', 'json', ...args], kubeconfig);
  // stderr is not a terminal: no progress line, only the notes.
  const notes = run.stderr.split('\n').filter((line) => line !== '');
  for (const note of notes) assert.match(note, /^dapr-guard audit: /);
  return {
    code: run.code,
    result: JSON.parse(run.stdout) as AuditJson,
    stdout: run.stdout,
    notes: notes.map((note) => note.slice('dapr-guard audit: '.length)),
  };
}

/**
 * `ruleId type/mode Kind/name` of each finding in the scenario's namespace, compactly (other files of the
 * run leave Dapr's trust bundle in dapr-system; it is this file's subject only in its own test).
 */
function summaryLines(result: AuditJson): string[] {
  return result.findings
    .filter((finding) => finding.object.namespace === APP)
    .map(
      (finding) => `${finding.ruleId} ${finding.type}/${finding.mode} ${finding.object.kind}/${finding.object.name}`,
    );
}

/** The chart's own injector Deployment (rendered Dapr chart) in the stand-in control-plane namespace. */
function injectorDeployment(sidecarImage: string): KubeObject {
  const rendered = parseManifests(readFileSync(join(DAPR_MANIFESTS, 'rendered', 'dapr-system.yaml'), 'utf8'));
  const found = rendered.find(
    (object) => object.kind === 'Deployment' && object.metadata?.name === 'dapr-sidecar-injector',
  );
  assert.ok(found !== undefined, 'the rendered Dapr chart has the injector Deployment');
  const text = JSON.stringify(found).replace('"ghcr.io/dapr/daprd:edge"', JSON.stringify(sidecarImage));
  const object = JSON.parse(text) as KubeObject;
  return { ...object, metadata: { ...object.metadata, namespace: CONTROL_PLANE } };
}

/** A workload whose Pods run daprd as Dapr's injector adds it (here in the template: there is no injector webhook). */
function injectedWorkload(name: string, image: string): KubeObject {
  const base = deployment(name, APP, {}, 2);
  const spec = base['spec'] as { template: { spec: { containers: unknown[] } } };
  spec.template.spec.containers.push({ name: 'daprd', image, args: ['./daprd', '--app-id', name] });
  return base;
}

describe('dapr-guard audit on a real API server', { timeout: 600_000 }, () => {
  before(
    async () => {
      const shared = sharedCluster();
      ownsCluster = shared === undefined;
      cluster = shared ?? (await startCluster());
      kubectl = new Kubectl(cluster.kubeconfig, cluster.kubectl);
      await kubectl.ok(['apply', '-f', '-'], {
        input: toManifest([namespaceObject(APP), namespaceObject(CONTROL_PLANE)]),
      });
    },
    { timeout: 300_000 },
  );
  after(
    async () => {
      await kubectl.run(['delete', 'namespace', APP, CONTROL_PLANE, '--ignore-not-found', '--wait=false']);
      if (ownsCluster) await stopCluster(cluster);
    },
    { timeout: 300_000 },
  );

  test('objects stored without dapr-guard are found once, at their owner, page by page', async (t) => {
    try {
      await kubectl.ok(['apply', '-f', '-'], {
        input: toManifest([
          deployment('orders', APP, daprApp('orders'), 2),
          redisWithPlaintextPassword('cache', APP, password),
        ]),
      });
      // The ReplicaSet controller's Pods exist: the audit must report them at the Deployment.
      await eventually(
        async () => {
          const pods = await kubectl.getJson<{ items: unknown[] }>(['-n', APP, 'get', 'pods', '-l', 'app=orders']);
          return pods.items.length === 2 ? true : undefined;
        },
        { description: 'the two Pods of Deployment orders', timeoutMs: 90_000 },
      );
      const { code, result, stdout, notes } = await auditJson(['-n', APP, '--page-size', '1']);
      assert.deepEqual(summaryLines(result), [
        'api-token violation/warn Deployment/orders',
        'sidecar-resources mutation/enforce Deployment/orders',
        'component-plaintext-secrets violation/enforce Component/cache',
      ]);
      assert.equal(code, 1, 'a violation in enforce mode: exit code 1');
      assert.deepEqual(notes, [
        'listed 6 objects (1 Namespace, 1 Deployment, 1 ReplicaSet, 2 Pod, 1 Component) in pages of 1',
        // Kubernetes 1.20 serves CronJobs as batch/v1beta1 only.
        ...(servesBatchV1CronJob(cluster) ? [] : ['CronJob (cronjobs.batch) is not served by this cluster — skipped']),
      ]);
      assert.equal(stdout.includes(password), false, 'the plaintext secret value never appears in the output');
      const text = await audit(['-n', APP]);
      assert.equal(text.code, 1);
      assert.match(
        text.stdout,
        /^cluster \S+ Component .+\/cache: \[component-plaintext-secrets\] \(enforce\) Component "cache": /m,
      );
      assert.match(
        text.stdout,
        /^cluster \S+ Deployment .+\/orders: \[sidecar-resources\] \(enforce\) would be changed on create: /m,
      );
      // Other files of the run may leave Dapr's trust bundle (2 days valid) in dapr-system: its two warnings.
      const bundleLines = text.stdout.split('\n').filter((line) => line.includes('[trust-bundle-expiry]')).length;
      assert.ok(bundleLines === 0 || bundleLines === 2, text.stdout);
      assert.equal(
        text.stdout.split('\n').at(-2),
        `dapr-guard audit failed: ${bundleLines === 0 ? 2 : 3} objects in 1 source; violations: 1 enforce, ${1 + bundleLines} warn, 0 audit; 1 would-be change`,
      );
    } catch (error: unknown) {
      markFailed(cluster, `audit: ${t.name}`);
      throw error;
    }
  });

  test("a sidecar left on the old daprd after the injector's sidecar image changed: found with its rollout command", async () => {
    await kubectl.ok(['apply', '-f', '-'], {
      input: toManifest([
        injectorDeployment('ghcr.io/dapr/daprd:1.18.3'),
        injectedWorkload('payments', 'ghcr.io/dapr/daprd:1.18.3'),
      ]),
    });
    await eventually(
      async () => {
        const pods = await kubectl.getJson<{ items: unknown[] }>(['-n', APP, 'get', 'pods', '-l', 'app=payments']);
        return pods.items.length === 2 ? true : undefined;
      },
      { description: 'the two Pods of Deployment payments', timeoutMs: 90_000 },
    );
    const current = await auditJson(['-n', APP]);
    // Only the app namespace is listed: the injector is not seen, so nothing is stale.
    assert.deepEqual(
      current.result.findings.filter((finding) => finding.ruleId === 'stale-sidecar'),
      [],
    );
    // The upgrade: the injector's configured sidecar image moves on; the running Pods keep the old daprd.
    await kubectl.ok([
      '-n',
      CONTROL_PLANE,
      'set',
      'env',
      'deployment/dapr-sidecar-injector',
      'SIDECAR_IMAGE=ghcr.io/dapr/daprd:1.18.4',
    ]);
    const { result } = await auditJson([]);
    const stale = result.findings.filter(
      (finding) => finding.ruleId === 'stale-sidecar' && finding.object.namespace === APP,
    );
    assert.deepEqual(stale, [
      {
        cluster: result.findings[0]?.cluster ?? null,
        object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: APP, name: 'payments' },
        type: 'violation',
        ruleId: 'stale-sidecar',
        mode: 'warn',
        message:
          `2 of 2 Pods of Deployment ${APP}/payments run daprd "ghcr.io/dapr/daprd:1.18.3", not "1.18.4" of the control ` +
          `plane (Deployment ${CONTROL_PLANE}/dapr-sidecar-injector) — kubectl rollout restart deploy/payments -n ${APP}`,
      },
    ]);
    const resources = result.findings.filter(
      (finding) => finding.ruleId === 'running-sidecar-resources' && finding.object.namespace === APP,
    );
    assert.deepEqual(
      resources.map((finding) => finding.object.name),
      ['payments'],
      'the daprd of payments runs without requests and limits',
    );
  });

  test('an expiring root certificate and an expired issuer in dapr-trust-bundle are found; the key is never read', async () => {
    const day = 86_400_000;
    const root = generateCertificateAuthority(new Date(Date.now() - day), 11);
    const issuer = generateCertificateAuthority(new Date(Date.now() - 3 * day), 1);
    await kubectl.ok(['apply', '-f', '-'], {
      input: toManifest({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'dapr-trust-bundle', namespace: CONTROL_PLANE },
        data: {
          'ca.crt': Buffer.from(root.certPem).toString('base64'),
          'issuer.crt': Buffer.from(issuer.certPem).toString('base64'),
          'issuer.key': Buffer.from(issuer.keyPem).toString('base64'),
        },
      }),
    });
    const { result, stdout } = await auditJson([]);
    const bundle = result.findings.filter((finding) => finding.ruleId === 'trust-bundle-expiry');
    assert.deepEqual(
      bundle.map((finding) => [
        finding.mode,
        `${finding.object.kind} ${finding.object.namespace ?? ''}/${finding.object.name}`,
      ]),
      [
        ['enforce', `Secret ${CONTROL_PLANE}/dapr-trust-bundle`],
        ['warn', `Secret ${CONTROL_PLANE}/dapr-trust-bundle`],
      ],
    );
    for (const finding of bundle)
      assert.match(finding.message, / — run dapr mtls renew-certificate -k --valid-until 365 --restart$/);
    assert.match(
      bundle[0]?.message ?? '',
      /^the issuer certificate \(issuer\.crt of Secret .+\/dapr-trust-bundle, .+\) expired on /,
    );
    assert.match(
      bundle[1]?.message ?? '',
      /^the root certificate \(ca\.crt of Secret .+\/dapr-trust-bundle, .+\) expires in 9 days, on /,
    );
    assert.equal(stdout.includes('PRIVATE KEY'), false);
  });

  test('with only some permissions: each missing one is named once and the rest of the audit runs', async () => {
    const account = 'auditor';
    await kubectl.ok(['apply', '-f', '-'], {
      input: toManifest([
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: account, namespace: APP } },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: account, namespace: APP },
          rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['list'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: account, namespace: APP },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: account },
          subjects: [{ kind: 'ServiceAccount', name: account, namespace: APP }],
        },
      ]),
    });
    const token = (await kubectl.ok(['-n', APP, 'create', 'token', account])).stdout.trim();
    const kubeconfig = join(cluster.workDir, `audit-${suffix}.kubeconfig`);
    const admin = await kubectl.getJson<{ clusters: { cluster: Record<string, string> }[] }>([
      'config',
      'view',
      '--raw',
      '--minify',
    ]);
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'e2e', cluster: admin.clusters[0]?.cluster }],
        users: [{ name: account, user: { token } }],
        contexts: [{ name: 'auditor', context: { cluster: 'e2e', user: account } }],
        'current-context': 'auditor',
      }),
      { mode: 0o600 },
    );
    const { result, code } = await auditJson(['-n', APP], kubeconfig);
    assert.equal(code, 2, 'incomplete: exit code 2');
    assert.deepEqual(
      result.problems.map((problem) => problem.message),
      [
        `no permission to get namespaces — skipped; grant get on namespaces (the chart's audit ClusterRole has it)`,
        `no permission to list statefulsets.apps in namespace ${APP} — skipped; grant list on statefulsets.apps (the chart's audit ClusterRole has it)`,
        `no permission to list daemonsets.apps in namespace ${APP} — skipped; grant list on daemonsets.apps (the chart's audit ClusterRole has it)`,
        `no permission to list replicasets.apps in namespace ${APP} — skipped; grant list on replicasets.apps (the chart's audit ClusterRole has it)`,
        `no permission to list cronjobs.batch in namespace ${APP} — skipped; grant list on cronjobs.batch (the chart's audit ClusterRole has it)`,
        `no permission to list jobs.batch in namespace ${APP} — skipped; grant list on jobs.batch (the chart's audit ClusterRole has it)`,
        `no permission to list pods in namespace ${APP} — skipped; grant list on pods (the chart's audit ClusterRole has it)`,
        `no permission to list components.dapr.io in namespace ${APP} — skipped; grant list on components.dapr.io (the chart's audit ClusterRole has it)`,
        `no permission to list configurations.dapr.io in namespace ${APP} — skipped; grant list on configurations.dapr.io (the chart's audit ClusterRole has it)`,
        `no permission to list httpendpoints.dapr.io in namespace ${APP} — skipped; grant list on httpendpoints.dapr.io (the chart's audit ClusterRole has it)`,
        `no permission to list mcpservers.dapr.io in namespace ${APP} — skipped; grant list on mcpservers.dapr.io (the chart's audit ClusterRole has it)`,
        `no permission to get Secret dapr-system/dapr-trust-bundle — the trust-bundle expiry is not checked; grant get on it by name`,
      ],
    );
    assert.deepEqual(
      summaryLines(result).filter((line) => line.endsWith('Deployment/orders') || line.endsWith('Deployment/payments')),
      ['api-token violation/warn Deployment/orders', 'sidecar-resources mutation/enforce Deployment/orders'],
      'the Deployments it may list are still reviewed',
    );
  });

  test('--report writes one Report per namespace, readable with kubectl get reports -A, emptied when the objects are fixed', async () => {
    const crds = join(REPO_ROOT, 'charts', 'dapr-guard', 'files', 'report-crds');
    const files = readdirSync(crds).filter((file) => file.endsWith('.yaml'));
    assert.equal(files.length, 4);
    for (const file of files) await kubectl.ok(['apply', '-f', join(crds, file)]);
    await kubectl.ok([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/reports.openreports.io',
      'crd/clusterreports.openreports.io',
      'crd/policyreports.wgpolicyk8s.io',
      'crd/clusterpolicyreports.wgpolicyk8s.io',
    ]);

    const first = await auditJson(['-n', APP, '--report']);
    assert.equal(first.notes.at(-1), 'reports (openreports.io/v1alpha1): 1 written, 0 removed');
    const listed = await kubectl.run(['get', 'reports', '-A']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${APP} +dapr-guard +0 +1 +3 +0 +0 +`, 'm'), listed.stdout);
    const stored = await kubectl.getJson<{
      summary: Record<string, number>;
      results: {
        policy: string;
        result: string;
        severity: string;
        resources: { kind: string; name: string }[];
        properties?: Record<string, string>;
      }[];
    }>(['-n', APP, 'get', 'report', 'dapr-guard']);
    assert.deepEqual(
      stored.results.map(
        (result) =>
          `${result.policy} ${result.result} ${result.severity} ${result.resources[0]?.kind ?? ''}/${result.resources[0]?.name ?? ''}`,
      ),
      [
        'component-plaintext-secrets fail high Component/cache',
        'api-token warn medium Deployment/orders',
        'sidecar-resources warn medium Deployment/orders',
        'running-sidecar-resources warn medium Deployment/payments',
      ],
    );
    assert.deepEqual(stored.summary, { pass: 0, fail: 1, warn: 3, error: 0, skip: 0 });
    assert.equal(JSON.stringify(stored).includes(password), false, 'no secret value in the report');

    // The fixes: the plaintext Component goes, orders gets its annotations, payments goes.
    await kubectl.ok(['-n', APP, 'delete', 'component', 'cache']);
    await kubectl.ok(['-n', APP, 'delete', 'deployment', 'payments']);
    await kubectl.ok(['apply', '-f', '-'], {
      input: toManifest(
        deployment(
          'orders',
          APP,
          { ...daprApp('orders'), ...PRODUCTION_SIDECAR_ANNOTATIONS, 'dapr.io/api-token-secret': 'orders-api-token' },
          2,
        ),
      ),
    });
    await eventually(
      async () => {
        const pods = await kubectl.getJson<{ items: unknown[] }>(['-n', APP, 'get', 'pods', '-l', 'app=payments']);
        return pods.items.length === 0 ? true : undefined;
      },
      { description: 'the Pods of payments to be gone', timeoutMs: 90_000 },
    );
    const second = await auditJson(['-n', APP, '--report']);
    assert.deepEqual(
      second.result.findings.filter((finding) => finding.object.namespace === APP),
      [],
    );
    assert.equal(second.code, 0);
    const fixed = await kubectl.getJson<{ summary: Record<string, number>; results: unknown[] }>([
      '-n',
      APP,
      'get',
      'report',
      'dapr-guard',
    ]);
    assert.deepEqual(fixed.results, []);
    assert.deepEqual(fixed.summary, { pass: 1, fail: 0, warn: 0, error: 0, skip: 0 });
    const all = await kubectl.getJson<{ items: unknown[] }>(['-n', APP, 'get', 'reports']);
    assert.equal(all.items.length, 1, 'replaced, never accumulated');

    // The older API, cluster-wide: a PolicyReport here, and the ClusterPolicyReport.
    const older = await auditJson(['--report', '--report-api', 'wgpolicyk8s.io/v1alpha2']);
    assert.match(older.notes.at(-1) ?? '', /^reports \(wgpolicyk8s\.io\/v1alpha2\): \d+ written, 0 removed$/);
    const policyReport = await kubectl.getJson<{ summary: Record<string, number> }>([
      '-n',
      APP,
      'get',
      'policyreport',
      'dapr-guard',
    ]);
    assert.deepEqual(policyReport.summary, { pass: 1, fail: 0, warn: 0, error: 0, skip: 0 });
    assert.equal((await kubectl.run(['get', 'clusterpolicyreport', 'dapr-guard'])).code, 0);
  });
});

/** batch/v1 CronJob is served from Kubernetes 1.21. */
function servesBatchV1CronJob(info: ClusterInfo): boolean {
  const [major = 0, minor = 0] = info.serverVersion.split('.').map(Number);
  return major > 1 || minor >= 21;
}
