import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { run } from '../../../src/cli/audit/command.ts';
import type { CliIo } from '../../../src/cli/commands.ts';
import { recordedNamespace, startFakeApi, type FakeApi, type Routes } from './fake-api.ts';

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function audit(argv: readonly string[]): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: {},
    stdin: (async function* () {})(),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

interface JsonReport {
  readonly summary: { objects: number; violations: Record<string, number>; mutations: number; problems: number };
  readonly findings: {
    object: { kind: string; name: string };
    type: string;
    ruleId: string;
    mode: string;
    message: string;
  }[];
  readonly problems: { source: string; message: string }[];
}

/** `ruleId type/mode Kind` → how many findings, for a recorded namespace of 100 objects. */
function tally(report: JsonReport): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const finding of report.findings) {
    const key = `${finding.ruleId} ${finding.type}/${finding.mode} ${finding.object.kind}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('dapr-guard audit on recorded list responses (kube-apiserver 1.37.2), over HTTPS', () => {
  let api: FakeApi;
  before(async () => {
    api = await startFakeApi(recordedNamespace());
  });
  after(async () => {
    await api.stop();
  });

  test('one namespace, page by page: each object reviewed once at its owner; the secret value never shown', async () => {
    const { code, stdout, stderr } = await audit([
      '--kubeconfig',
      api.kubeconfig,
      '-n',
      'bench-audit-0',
      '-o',
      'json',
      '--page-size',
      '20',
    ]);
    assert.equal(code, 1, 'plaintext secrets in enforce mode: exit code 1');
    const deploymentRequests = api.requests.filter((request) => request.includes('/deployments?'));
    assert.equal(deploymentRequests.length, 2, 'two pages of Deployments');
    assert.match(deploymentRequests[0] ?? '', /\?limit=20$/);
    assert.match(deploymentRequests[1] ?? '', /\?limit=20&continue=eyJ/);
    const report = JSON.parse(stdout) as JsonReport;
    // 30 Deployments, 50 Pods without an owner, 20 Components; not the 30 ReplicaSets (owned by the Deployments).
    assert.equal(report.summary.objects, 100);
    assert.deepEqual(tally(report), {
      'api-token violation/warn Deployment': 30,
      'sidecar-resources mutation/enforce Deployment': 30,
      'api-token violation/warn Pod': 40,
      'sidecar-resources mutation/enforce Pod': 40,
      'running-sidecar-resources violation/warn Pod': 40,
      // The same daprd seen by the webhooks' final-state check: created now, the Pod would keep it as it is.
      'sidecar-resources-applied violation/warn Pod': 40,
      'component-plaintext-secrets violation/enforce Component': 10,
      // An empty redisPassword is advice, not a leak: capped at warn.
      'component-plaintext-secrets violation/warn Component': 10,
    });
    assert.equal(stdout.includes('bench-secret'), false);
    assert.deepEqual(stderr.split('\n'), [
      'dapr-guard audit: listed 131 objects (1 Namespace, 30 Deployment, 30 ReplicaSet, 50 Pod, 20 Component) in pages of 20',
      '',
    ]);
  });

  test('text: one line per finding and the summary, as dapr-guard check writes them', async () => {
    const { code, stdout } = await audit(['--kubeconfig', api.kubeconfig, '-n', 'bench-audit-0']);
    assert.equal(code, 1);
    const lines = stdout.split('\n');
    assert.equal(lines.filter((line) => line.startsWith('cluster recorded ')).length, 240);
    assert.ok(
      lines.includes(
        'cluster recorded Component bench-audit-0/o-7: [component-plaintext-secrets] (enforce) Component "o-7": spec.metadata redisPassword is a plaintext secret — use secretKeyRef: {name: <secret>, key: redisPassword} (Kubernetes Secret or auth.secretStore)',
      ),
      stdout.slice(0, 2000),
    );
    assert.equal(
      lines.at(-2),
      'dapr-guard audit failed: 100 objects in 1 source; violations: 10 enforce, 160 warn, 0 audit; 70 would-be changes',
    );
  });

  test('sarif and junit come from the same report', async () => {
    const sarif = await audit(['--kubeconfig', api.kubeconfig, '-n', 'bench-audit-0', '-o', 'sarif']);
    const log = JSON.parse(sarif.stdout) as {
      version: string;
      runs: { results: unknown[]; tool: { driver: { rules: { id: string }[] } } }[];
    };
    assert.equal(log.version, '2.1.0');
    assert.ok(
      log.runs[0]?.tool.driver.rules.some((rule) => rule.id === 'stale-sidecar'),
      'the audit checks are in the rule table',
    );
    const junit = await audit(['--kubeconfig', api.kubeconfig, '-n', 'bench-audit-0', '-o', 'junit']);
    assert.match(junit.stdout, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites /);
    assert.equal(sarif.code, 1);
    assert.equal(junit.code, 1);
  });
});

describe('dapr-guard audit when the cluster says no', () => {
  test('a 403 on one kind: named once as a problem (exit 2), its ReplicaSets are reviewed instead, the rest runs', async () => {
    const routes: Routes = {
      ...recordedNamespace(),
      '/apis/apps/v1/namespaces/bench-audit-0/deployments': { status: 403, file: 'deployments-forbidden.json' },
    };
    const api = await startFakeApi(routes);
    try {
      const { code, stdout } = await audit(['--kubeconfig', api.kubeconfig, '-n', 'bench-audit-0', '-o', 'json']);
      assert.equal(code, 2, 'incomplete: exit code 2');
      const report = JSON.parse(stdout) as JsonReport;
      assert.deepEqual(report.problems, [
        {
          source: 'recorded',
          message:
            "no permission to list deployments.apps in namespace bench-audit-0 — skipped; grant list on deployments.apps (the chart's audit ClusterRole has it)",
        },
      ]);
      assert.equal(tally(report)['sidecar-resources mutation/enforce ReplicaSet'], 30);
      assert.equal(tally(report)['component-plaintext-secrets violation/enforce Component'], 10);
    } finally {
      await api.stop();
    }
  });

  test('no Dapr CRDs (404 page not found): each Dapr kind is a note on stderr, not a problem', async () => {
    const routes: Record<string, { status: number; file: string }> = { ...recordedNamespace() };
    for (const resource of ['components', 'configurations', 'httpendpoints', 'mcpservers'])
      delete routes[`/apis/dapr.io/v1alpha1/namespaces/bench-audit-0/${resource}`];
    const api = await startFakeApi(routes);
    try {
      const { code, stdout, stderr } = await audit([
        '--kubeconfig',
        api.kubeconfig,
        '-n',
        'bench-audit-0',
        '-o',
        'json',
      ]);
      assert.equal(code, 0, 'warnings and would-be changes only');
      assert.equal((JSON.parse(stdout) as JsonReport).problems.length, 0);
      assert.deepEqual(stderr.split('\n').slice(1), [
        "dapr-guard audit: Component (components.dapr.io) is not served by this cluster — skipped (Dapr's CRDs are not installed)",
        "dapr-guard audit: Configuration (configurations.dapr.io) is not served by this cluster — skipped (Dapr's CRDs are not installed)",
        "dapr-guard audit: HTTPEndpoint (httpendpoints.dapr.io) is not served by this cluster — skipped (Dapr's CRDs are not installed)",
        "dapr-guard audit: MCPServer (mcpservers.dapr.io) is not served by this cluster — skipped (Dapr's CRDs are not installed)",
        '',
      ]);
    } finally {
      await api.stop();
    }
  });

  test('nothing answers: exit 2 with what was tried', async () => {
    const api = await startFakeApi({});
    const kubeconfig = api.kubeconfig;
    await api.stop();
    const { code, stdout, stderr } = await audit(['--kubeconfig', kubeconfig, '-o', 'json']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(
      stderr,
      /^dapr-guard audit: cannot read the cluster at https:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/,
    );
  });
});

describe('dapr-guard audit options', () => {
  const cases: readonly [readonly string[], string][] = [
    [['--output', 'xml'], 'dapr-guard audit: --output must be one of text, json, sarif, junit, got "xml"\n'],
    [
      ['--report', '--selector', 'app=x'],
      'dapr-guard audit: --report cannot be combined with --selector: a report stands for a whole namespace\n',
    ],
    [
      ['--report-api', 'reports.x-k8s.io/v1beta2'],
      'dapr-guard audit: --report-api must be one of openreports.io/v1alpha1, wgpolicyk8s.io/v1alpha2, got "reports.x-k8s.io/v1beta2"\n',
    ],
    [['--page-size', '0'], 'dapr-guard audit: --page-size must be an integer from 1 to 5000, got "0"\n'],
    [['--namespace'], 'dapr-guard audit: --namespace needs a value: <name>\n'],
    [
      ['--mode', 'strict'],
      'dapr-guard audit: invalid configuration:\n  - --mode must be one of enforce, warn, audit, got "strict"\n',
    ],
  ];
  assert.equal(cases.length, 6);
  for (const [argv, message] of cases) {
    test(argv.join(' '), async () => {
      assert.deepEqual(await audit(argv), { code: 2, stdout: '', stderr: message });
    });
  }

  test('--help', async () => {
    const { code, stdout } = await audit(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: dapr-guard audit \[options\] \[configuration options\]\n/);
    assert.match(stdout, /\n {2}--report-api <openreports\.io\/v1alpha1\|wgpolicyk8s\.io\/v1alpha2>\n/);
  });
});
