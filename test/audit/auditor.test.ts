import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { Auditor } from '../../src/audit/auditor.ts';
import { AUDIT_KINDS, type AuditKind } from '../../src/audit/kinds.ts';
import { buildConfig, type ConfigLayer } from '../../src/config/config.ts';
import { policyOf } from '../../src/config/policy.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { jsonFixture, yamlObjects } from '../support/fixtures.ts';

function kind(name: string): AuditKind {
  const found = AUDIT_KINDS.find((candidate) => candidate.kind === name);
  assert.ok(found !== undefined, name);
  return found;
}

function recorded(file: string): KubeObject {
  return jsonFixture<{ request: { object: KubeObject } }>(`reviews/${file}.json`).request.object;
}

function auditor(layer: ConfigLayer = {}): Auditor {
  const config = buildConfig([layer], RULE_IDS);
  return new Auditor({
    policyOf: (namespaceMode) => policyOf(config, namespaceMode),
    userInfo: { username: 'dapr-guard:audit', groups: ['system:masters'] },
    sidecarDefaults: config.sidecarDefaults,
    now: new Date('2026-12-02T06:00:00Z'),
  });
}

/** The ReplicaSet the controller made for the recorded Deployment `orders` (the recorded Pod names it). */
const ORDERS_REPLICASET: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: {
    name: 'orders-55c4ddf884',
    namespace: 'shop',
    uid: 'db3060f1-3f7a-40a8-87b9-4625d5b87594',
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'orders',
        uid: 'e4542dc5-6dc6-4737-9f47-a0d2baf844f5',
        controller: true,
      },
    ],
  },
  spec: recorded('deployment-create-orders')['spec'],
};

/** The recorded Pod with the daprd container Dapr's injector adds (image, no resources). */
function injected(pod: KubeObject, image: string, resources: Record<string, unknown> = {}): KubeObject {
  const spec = pod['spec'] as { containers: unknown[] };
  return { ...pod, spec: { ...spec, containers: [...spec.containers, { name: 'daprd', image, resources }] } };
}

const line = (finding: {
  ruleId: string;
  severity: string;
  object?: { kind: string; namespace?: string; name: string };
}): string =>
  `${finding.severity} ${finding.ruleId} ${finding.object === undefined ? 'cluster' : `${finding.object.kind} ${finding.object.namespace ?? ''}/${finding.object.name}`}`;

describe('Auditor', () => {
  test('objects owned by a listed controller are reported once, at the owner', () => {
    const audit = auditor();
    audit.observe(kind('Deployment'), recorded('deployment-create-orders'));
    audit.observe(kind('ReplicaSet'), ORDERS_REPLICASET);
    audit.observe(kind('Pod'), recorded('pod-create-orders'));
    audit.observe(kind('Component'), recorded('component-create-redis-pubsub'));
    const result = audit.finish();
    assert.deepEqual(result.findings.map(line), [
      'error component-plaintext-secrets Component default/redis-pubsub',
      'warning api-token Deployment shop/orders',
      'warning sidecar-resources Deployment shop/orders',
    ]);
    assert.deepEqual(result.listed, { Deployment: 1, ReplicaSet: 1, Pod: 1, Component: 1 });
    assert.deepEqual(result.reviewed, { shop: 1, default: 1 });
    assert.equal(
      result.findings[2]?.message,
      'would be changed on create: dapr.io/sidecar-cpu-request=100m, dapr.io/sidecar-cpu-limit=4, dapr.io/sidecar-memory-request=250Mi — set these in the manifest',
    );
  });

  test('a Pod whose owner kind could not be listed is reviewed itself', () => {
    const audit = auditor();
    audit.unavailable(kind('ReplicaSet'), 'no permission to list replicasets.apps', 'problem');
    audit.observe(kind('Pod'), recorded('pod-create-nodeapp'));
    const result = audit.finish();
    assert.deepEqual(result.findings.map(line), ['warning sidecar-resources Pod default/nodeapp-c98c589fb-vxws5']);
    assert.deepEqual(result.problems, ['no permission to list replicasets.apps']);
  });

  test("a namespace's dapr-guard.io/mode label decides its objects' severity, as in the webhook", () => {
    const audit = auditor();
    audit.observe(kind('Namespace'), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'default', labels: { 'dapr-guard.io/mode': 'audit' } },
    });
    audit.observe(kind('Component'), recorded('component-create-redis-pubsub'));
    assert.deepEqual(audit.finish().findings.map(line), [
      'info component-plaintext-secrets Component default/redis-pubsub',
    ]);
  });

  test('rule modes and disabled rules come from the configuration', () => {
    const audit = auditor({
      rules: { 'api-token': { enabled: false }, 'component-plaintext-secrets': { mode: 'warn' } },
    });
    audit.observe(kind('Deployment'), recorded('deployment-create-orders'));
    audit.observe(kind('Component'), recorded('component-create-redis-pubsub'));
    assert.deepEqual(audit.finish().findings.map(line), [
      'warning component-plaintext-secrets Component default/redis-pubsub',
      'warning sidecar-resources Deployment shop/orders',
    ]);
  });

  test('a stored exemption counts as the webhook counted it when the object was written', () => {
    const audit = auditor();
    const component = recorded('component-create-redis-pubsub');
    const metadata = component.metadata ?? {};
    audit.observe(kind('Component'), {
      ...component,
      metadata: {
        ...metadata,
        annotations: {
          'dapr-guard.io/exempt': 'component-plaintext-secrets',
          'dapr-guard.io/exempt-reason': 'local demo',
        },
      },
    });
    assert.deepEqual(audit.finish().findings, []);
  });

  test('stale sidecars: the injector Deployment of the rendered Dapr chart names the version; one finding per workload', () => {
    const audit = auditor();
    const chart = yamlObjects('dapr-manifests/rendered/dapr-system.yaml');
    const injector = chart.find(
      (object) => object.kind === 'Deployment' && object.metadata?.name === 'dapr-sidecar-injector',
    );
    assert.ok(injector !== undefined);
    audit.observe(kind('Deployment'), injector);
    audit.observe(kind('ReplicaSet'), ORDERS_REPLICASET);
    const pod = recorded('pod-create-orders');
    audit.observe(kind('Pod'), injected(pod, 'ghcr.io/dapr/daprd:1.17.2'));
    audit.observe(
      kind('Pod'),
      injected({ ...pod, metadata: { ...pod.metadata, name: 'orders-55c4ddf884-x2' } }, 'ghcr.io/dapr/daprd:edge'),
    );
    const stale = audit.finish().findings.filter((finding) => finding.ruleId === 'stale-sidecar');
    assert.deepEqual(stale, [
      {
        ruleId: 'stale-sidecar',
        kind: 'violation',
        mode: 'warn',
        severity: 'warning',
        object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'orders' },
        message:
          '1 of 2 Pods of Deployment shop/orders run daprd "ghcr.io/dapr/daprd:1.17.2", not "edge" of the control plane ' +
          '(Deployment dapr-system/dapr-sidecar-injector) — kubectl rollout restart deploy/orders -n shop',
        remedy: 'kubectl rollout restart deploy/orders -n shop',
      },
    ]);
  });

  test('stale sidecars without an injector: the Operator image gives the version; a bare Pod is re-created', () => {
    const audit = auditor();
    const operator = yamlObjects('dapr-manifests/rendered/dapr-system.yaml').find(
      (object) => object.kind === 'Deployment' && object.metadata?.name === 'dapr-operator',
    );
    assert.ok(operator !== undefined);
    audit.observe(
      kind('Deployment'),
      JSON.parse(JSON.stringify(operator).replace('operator:edge', 'operator:1.18.3')) as KubeObject,
    );
    const pod = recorded('pod-create-payments');
    const bare = { ...pod, metadata: { ...pod.metadata, name: 'payments', ownerReferences: [] } };
    audit.observe(kind('Pod'), injected(bare, 'docker.io/daprio/daprd:1.18.2'));
    const [finding, ...rest] = audit.finish().findings.filter((candidate) => candidate.ruleId === 'stale-sidecar');
    assert.equal(rest.length, 0);
    assert.equal(
      finding?.message,
      `1 of 1 Pod of Pod ${pod.metadata?.namespace ?? ''}/payments run daprd "docker.io/daprio/daprd:1.18.2", not "1.18.3" of the ` +
        "control plane (Deployment dapr-system/dapr-operator) — delete and re-create the 1 Pod so that Dapr's injector adds the current daprd",
    );
    assert.equal(finding?.remedy, undefined);
  });

  test('running sidecar resources: each workload once, naming what is missing and the annotations that set it', () => {
    const audit = auditor();
    audit.observe(kind('ReplicaSet'), ORDERS_REPLICASET);
    const pod = recorded('pod-create-orders');
    audit.observe(
      kind('Pod'),
      injected(pod, 'ghcr.io/dapr/daprd:1.18.3', {
        requests: { cpu: '100m', memory: '250Mi' },
        limits: { memory: '1000Mi' },
      }),
    );
    audit.observe(
      kind('Pod'),
      injected(pod, 'ghcr.io/dapr/daprd:1.18.3', {
        requests: { cpu: '100m', memory: '250Mi' },
        limits: { cpu: '4', memory: '4000Mi' },
      }),
    );
    const findings = audit.finish().findings.filter((finding) => finding.ruleId === 'running-sidecar-resources');
    assert.deepEqual(findings, [
      {
        ruleId: 'running-sidecar-resources',
        kind: 'violation',
        mode: 'warn',
        severity: 'warning',
        object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'orders' },
        message:
          'the daprd sidecar of Deployment shop/orders runs without limits.cpu — set dapr.io/sidecar-cpu-limit: "4" on the pod ' +
          'template and restart it (kubectl rollout restart deploy/orders -n shop)',
        remedy: 'kubectl rollout restart deploy/orders -n shop',
      },
    ]);
  });

  test('a native sidecar daprd (init container with restartPolicy Always) is checked too', () => {
    const audit = auditor();
    const pod = recorded('pod-create-payments');
    const spec = pod['spec'] as Record<string, unknown>;
    const bare = { ...pod, metadata: { ...pod.metadata, name: 'native', ownerReferences: [] } };
    audit.observe(kind('Pod'), {
      ...bare,
      spec: {
        ...spec,
        initContainers: [{ name: 'daprd', image: 'ghcr.io/dapr/daprd:1.18.3', restartPolicy: 'Always' }],
      },
    });
    const findings = audit.finish().findings.filter((finding) => finding.ruleId === 'running-sidecar-resources');
    assert.equal(findings.length, 1);
    assert.match(
      findings[0]?.message ?? '',
      /runs without requests\.cpu, requests\.memory, limits\.cpu, limits\.memory — /,
    );
  });

  test('a listed kind the rules do not know (as MCPServer before its rules) is counted, not reviewed', () => {
    const audit = auditor();
    const widget = { ...kind('MCPServer'), kind: 'Widget', resource: 'widgets' };
    audit.observe(widget, {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Widget',
      metadata: { name: 'tools', namespace: 'shop' },
    });
    const result = audit.finish();
    assert.deepEqual(result.listed, { Widget: 1 });
    assert.deepEqual(result.findings, []);
    assert.deepEqual(result.objects, []);
  });
});
