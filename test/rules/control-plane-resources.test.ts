import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionRequest, KubeObject } from '../../src/admission/wire.ts';
import { formatMessage } from '../../src/policy/decide.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import type { Violation } from '../../src/policy/evaluation.ts';
import { CONTROL_PLANE_RESOURCES_RULE_ID, controlPlaneResourcesRule } from '../../src/rules/control-plane-resources.ts';
import { yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';

const RENDERED = 'dapr-manifests/rendered/';

function violations(request: AdmissionRequest): readonly Violation[] {
  const found = evaluate(request, testPolicy([controlPlaneResourcesRule()]), 'validate').violations;
  for (const violation of found) {
    assert.equal(violation.ruleId, CONTROL_PLANE_RESOURCES_RULE_ID);
    assert.equal(violation.mode, 'warn');
    assert.ok(
      formatMessage(violation).length <= MAX_WARNING_LENGTH,
      `too long for a warning: ${formatMessage(violation)}`,
    );
  }
  return found;
}

function messages(object: KubeObject): string[] {
  return violations(
    admissionRequest(object, object.metadata?.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
  ).map((violation) => violation.message);
}

const SYSTEM = 'use requests cpu 100m, memory 20Mi; limits cpu 1, memory 200Mi';
const PLACEMENT = 'use requests cpu 250m, memory 100Mi; limits cpu 1, memory 500Mi';
const DASHBOARD = 'use requests cpu 50m, memory 20Mi; limits cpu 200m, memory 200Mi';
const NONE = 'no cpu request, cpu limit, memory request, memory limit';
const HA = 'run 3 for high availability: upgrade Dapr with --set global.ha.enabled=true';
const DASHBOARD_NOTE =
  'Deployment "dapr-dashboard": the Dapr Dashboard is deprecated since Dapr 1.18 (dapr/dashboard is archived) — note only: plan its removal';

const NON_HA_FINDINGS = [
  `Deployment "dapr-operator" runs 1 replica — ${HA}`,
  `Deployment "dapr-operator", container "dapr-operator": ${NONE} — ${SYSTEM}`,
  `Deployment "dapr-sentry" runs 1 replica — ${HA}`,
  `Deployment "dapr-sentry", container "dapr-sentry": ${NONE} — ${SYSTEM}`,
  `Deployment "dapr-sidecar-injector" runs 1 replica — ${HA}`,
  `Deployment "dapr-sidecar-injector", container "dapr-sidecar-injector": ${NONE} — ${SYSTEM}`,
  `StatefulSet "dapr-placement-server" runs 1 replica — ${HA}`,
  `StatefulSet "dapr-placement-server", container "dapr-placement-server": ${NONE} — ${PLACEMENT}`,
];

function renderedFindings(file: string): string[] {
  return yamlObjects(`${RENDERED}${file}`).flatMap((object) => messages(object));
}

interface WorkloadShape {
  readonly kind?: 'Deployment' | 'StatefulSet';
  readonly name: string;
  readonly replicas?: unknown;
  readonly podAnnotations?: Record<string, string>;
  readonly containers?: unknown;
  /** Pod template affinity; default: the podAntiAffinity Dapr's chart renders with global.ha (replicas spread). */
  readonly affinity?: unknown;
}

const SPREAD = {
  podAntiAffinity: {
    preferredDuringSchedulingIgnoredDuringExecution: [
      {
        weight: 100,
        podAffinityTerm: {
          labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['dapr-placement-server'] }] },
          topologyKey: 'topology.kubernetes.io/zone',
        },
      },
    ],
  },
};

function controlPlaneWorkload(shape: WorkloadShape): KubeObject {
  const labels = { app: shape.name };
  return {
    apiVersion: 'apps/v1',
    kind: shape.kind ?? 'Deployment',
    metadata: { name: shape.name, namespace: 'dapr-system', labels },
    spec: {
      ...(shape.replicas === undefined ? {} : { replicas: shape.replicas }),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: shape.podAnnotations ?? {} },
        spec: {
          containers: shape.containers ?? [{ name: shape.name, image: 'ghcr.io/dapr/operator:1.16.0' }],
          ...(shape.affinity === null ? {} : { affinity: shape.affinity ?? SPREAD }),
        },
      },
    },
  };
}

function container(
  name: string,
  requests: Record<string, unknown>,
  limits: Record<string, unknown>,
): Record<string, unknown> {
  return { name, image: 'ghcr.io/dapr/operator:1.16.0', resources: { requests, limits } };
}

describe('control-plane-resources', () => {
  describe('rendered manifests', () => {
    it('dapr-system.yaml (no HA): replica and resource findings for operator, sentry, injector and placement', () => {
      assert.deepEqual(renderedFindings('dapr-system.yaml'), NON_HA_FINDINGS);
    });

    it('dapr-system-ha.yaml: only resource findings', () => {
      assert.deepEqual(
        renderedFindings('dapr-system-ha.yaml'),
        NON_HA_FINDINGS.filter((message) => !message.includes(' runs ')),
      );
    });

    it('default-ns.yaml and dapr-system-custom-labels.yaml: the same findings (any namespace, any k8sLabels)', () => {
      assert.deepEqual(renderedFindings('default-ns.yaml'), NON_HA_FINDINGS);
      assert.deepEqual(renderedFindings('dapr-system-custom-labels.yaml'), NON_HA_FINDINGS);
    });

    it('the scheduler: no resource table entry; fewer than 3 replicas and unspread replicas are reported', () => {
      const scheduler =
        yamlObjects(`${RENDERED}dapr-system.yaml`).find(
          (object) => object.kind === 'StatefulSet' && object.metadata?.name === 'dapr-scheduler-server',
        ) ?? {};
      assert.equal(scheduler.kind, 'StatefulSet');
      assert.deepEqual(messages(scheduler), []);
      assert.deepEqual(
        messages(controlPlaneWorkload({ kind: 'StatefulSet', name: 'dapr-scheduler-server', replicas: 1 })),
        [
          `StatefulSet "dapr-scheduler-server" runs 1 replica — run 3: the Scheduler's embedded etcd needs a quorum, and Dapr's chart always renders 3`,
        ],
      );
      assert.deepEqual(
        messages(
          controlPlaneWorkload({ kind: 'StatefulSet', name: 'dapr-scheduler-server', replicas: 3, affinity: null }),
        ),
        [
          'StatefulSet "dapr-scheduler-server": its 3 replicas are not spread (no podAntiAffinity or topologySpreadConstraints) — upgrade Dapr with --set global.ha.enabled=true, which spreads them across zones',
        ],
      );
    });
  });

  describe('container resources against the production table', () => {
    const cases: ReadonlyArray<{
      readonly name: string;
      readonly shape: WorkloadShape;
      readonly expected: readonly string[];
    }> = [
      {
        name: 'exactly the recommended values',
        shape: {
          name: 'dapr-operator',
          replicas: 3,
          containers: [container('dapr-operator', { cpu: '100m', memory: '20Mi' }, { cpu: '1', memory: '200Mi' })],
        },
        expected: [],
      },
      {
        name: 'more than recommended, in other units',
        shape: {
          name: 'dapr-sentry',
          replicas: 3,
          containers: [container('dapr-sentry', { cpu: '0.5', memory: '0.1Gi' }, { cpu: '2000m', memory: '1G' })],
        },
        expected: [],
      },
      {
        name: 'numbers written in a manifest',
        shape: {
          name: 'dapr-sentry',
          replicas: 3,
          containers: [container('dapr-sentry', { cpu: 0.1, memory: '20Mi' }, { cpu: 1, memory: '200Mi' })],
        },
        expected: [],
      },
      {
        name: 'a request below the table',
        shape: {
          name: 'dapr-operator',
          replicas: 3,
          containers: [container('dapr-operator', { cpu: '50m', memory: '20Mi' }, { cpu: '1', memory: '200Mi' })],
        },
        expected: [`Deployment "dapr-operator", container "dapr-operator": too low: cpu request — ${SYSTEM}`],
      },
      {
        name: 'placement memory in decimal units just below 100Mi',
        shape: {
          kind: 'StatefulSet',
          name: 'dapr-placement-server',
          replicas: 3,
          containers: [
            container('dapr-placement-server', { cpu: '0.25', memory: '100M' }, { cpu: '1000m', memory: '500Mi' }),
          ],
        },
        expected: [
          `StatefulSet "dapr-placement-server", container "dapr-placement-server": too low: memory request — ${PLACEMENT}`,
        ],
      },
      {
        name: 'requests only',
        shape: {
          name: 'dapr-sidecar-injector',
          replicas: 3,
          containers: [{ name: 'dapr-sidecar-injector', resources: { requests: { cpu: '100m', memory: '30Mi' } } }],
        },
        expected: [
          `Deployment "dapr-sidecar-injector", container "dapr-sidecar-injector": no cpu limit, memory limit — ${SYSTEM}`,
        ],
      },
      {
        name: 'missing and too low at once',
        shape: {
          kind: 'StatefulSet',
          name: 'dapr-placement-server',
          replicas: 3,
          containers: [container('dapr-placement-server', { cpu: '100m', memory: '50Mi' }, { cpu: '500m' })],
        },
        expected: [
          `StatefulSet "dapr-placement-server", container "dapr-placement-server": no memory limit; too low: cpu request, cpu limit, memory request — ${PLACEMENT}`,
        ],
      },
      {
        name: 'everything too low',
        shape: {
          kind: 'StatefulSet',
          name: 'dapr-placement-server',
          replicas: 3,
          containers: [
            container('dapr-placement-server', { cpu: '100m', memory: '50Mi' }, { cpu: '500m', memory: '200Mi' }),
          ],
        },
        expected: [
          `StatefulSet "dapr-placement-server", container "dapr-placement-server": too low: cpu request, cpu limit, memory request, memory limit — ${PLACEMENT}`,
        ],
      },
      {
        name: 'one finding per container that needs one',
        shape: {
          name: 'dapr-operator',
          replicas: 3,
          containers: [
            container('dapr-operator', { cpu: '100m', memory: '20Mi' }, { cpu: '1', memory: '200Mi' }),
            { name: 'log-shipper' },
            container('proxy', { cpu: '10m', memory: '20Mi' }, { cpu: '1', memory: '200Mi' }),
          ],
        },
        expected: [
          `Deployment "dapr-operator", container "log-shipper": ${NONE} — ${SYSTEM}`,
          `Deployment "dapr-operator", container "proxy": too low: cpu request — ${SYSTEM}`,
        ],
      },
      {
        name: 'a renamed operator, known by its pod annotation',
        shape: {
          name: 'acme-operator',
          replicas: 3,
          podAnnotations: { 'dapr.io/control-plane': 'operator' },
          containers: [{ name: 'operator', resources: {} }],
        },
        expected: [`Deployment "acme-operator", container "operator": ${NONE} — ${SYSTEM}`],
      },
      {
        name: 'the dashboard (its own table, no HA)',
        shape: {
          name: 'dapr-dashboard',
          replicas: 1,
          containers: [container('dapr-dashboard', { cpu: '50m', memory: '20Mi' }, { cpu: '100m', memory: '200Mi' })],
        },
        expected: [
          DASHBOARD_NOTE,
          `Deployment "dapr-dashboard", container "dapr-dashboard": too low: cpu limit — ${DASHBOARD}`,
        ],
      },
      {
        name: 'an app Deployment named like the operator',
        shape: { name: 'dapr-operator-ui', replicas: 1, containers: [{ name: 'ui' }] },
        expected: [],
      },
    ];
    for (const { name, shape, expected } of cases) {
      it(name, () => assert.deepEqual(messages(controlPlaneWorkload(shape)), expected));
    }

    it('shortens a long workload or container name so the message fits in a warning', () => {
      const shape: WorkloadShape = {
        kind: 'StatefulSet',
        name: 'p'.repeat(253),
        replicas: 3,
        podAnnotations: { 'dapr.io/control-plane': 'placement' },
        containers: [container('c'.repeat(100), { cpu: '0.000000000001', memory: '1Mi' }, { cpu: '0.0000000001' })],
      };
      assert.deepEqual(messages(controlPlaneWorkload(shape)), [
        `StatefulSet "${'p'.repeat(39)}…", container "${'c'.repeat(23)}…": no memory limit; too low: cpu request, cpu limit, memory request — ${PLACEMENT}`,
      ]);
    });
  });

  describe('replicas', () => {
    const cases: ReadonlyArray<readonly [string, WorkloadShape, readonly string[]]> = [
      [
        '1 replica',
        { name: 'dapr-sentry', replicas: 1, containers: [] },
        [`Deployment "dapr-sentry" runs 1 replica — ${HA}`],
      ],
      [
        '2 replicas',
        { name: 'dapr-sentry', replicas: 2, containers: [] },
        [`Deployment "dapr-sentry" runs 2 replicas — ${HA}`],
      ],
      [
        'no replicas field (Kubernetes runs 1)',
        { name: 'dapr-sidecar-injector', containers: [] },
        [`Deployment "dapr-sidecar-injector" runs 1 replica — ${HA}`],
      ],
      ['3 replicas', { name: 'dapr-sentry', replicas: 3, containers: [] }, []],
      ['5 replicas', { name: 'dapr-operator', replicas: 5, containers: [] }, []],
      [
        'placement scaled to zero on purpose',
        { kind: 'StatefulSet', name: 'dapr-placement-server', replicas: 0, containers: [] },
        [],
      ],
      [
        'a dashboard with 1 replica: only the deprecation note',
        { name: 'dapr-dashboard', replicas: 1, containers: [] },
        [DASHBOARD_NOTE],
      ],
      ['replicas of the wrong type', { name: 'dapr-operator', replicas: '3', containers: [] }, []],
    ];
    for (const [name, shape, expected] of cases) {
      it(name, () => assert.deepEqual(messages(controlPlaneWorkload(shape)), expected));
    }
  });

  it('looks only at Deployments and StatefulSets, on CREATE and UPDATE', () => {
    const operator =
      yamlObjects(`${RENDERED}dapr-system.yaml`).find(
        (object) => object.kind === 'Deployment' && object.metadata?.name === 'dapr-operator',
      ) ?? {};
    assert.equal(violations(admissionRequest(operator, { operation: 'UPDATE', oldObject: operator })).length, 2);
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'dapr-operator-abc',
        namespace: 'dapr-system',
        annotations: { 'dapr.io/control-plane': 'operator' },
      },
      spec: { containers: [{ name: 'dapr-operator' }] },
    };
    assert.deepEqual(messages(pod), []);
    const replicaSet = { ...operator, kind: 'ReplicaSet' };
    assert.deepEqual(messages(replicaSet), []);
  });

  it('survives malformed objects', () => {
    const shapes: ReadonlyArray<readonly [KubeObject, number]> = [
      [{ kind: 'Deployment', metadata: { name: 'dapr-operator' } }, 1],
      [{ kind: 'Deployment', metadata: { name: 'dapr-operator' }, spec: 'x' }, 1],
      [controlPlaneWorkload({ name: 'dapr-operator', replicas: 3, containers: 'x' }), 0],
      [controlPlaneWorkload({ name: 'dapr-operator', replicas: 3, containers: [null, 7, { resources: 'x' }] }), 3],
      [
        controlPlaneWorkload({
          name: 'dapr-operator',
          replicas: 3,
          containers: [{ name: 'x', resources: { requests: [], limits: { cpu: {} } } }],
        }),
        1,
      ],
    ];
    for (const [object, count] of shapes) assert.equal(messages(object).length, count, JSON.stringify(object));
  });
});

describe('control-plane-resources: spreading Placement and Scheduler (global.ha)', () => {
  const placement = (replicas: number, affinity: unknown): KubeObject =>
    controlPlaneWorkload({
      kind: 'StatefulSet',
      name: 'dapr-placement-server',
      replicas,
      affinity,
      containers: [container('dapr-placement-server', { cpu: '250m', memory: '100Mi' }, { cpu: '1', memory: '500Mi' })],
    });
  const NOT_SPREAD =
    'StatefulSet "dapr-placement-server": its 3 replicas are not spread (no podAntiAffinity or topologySpreadConstraints) — upgrade Dapr with --set global.ha.enabled=true, which spreads them across zones';
  const cases: ReadonlyArray<[string, KubeObject, string[]]> = [
    ['3 replicas, no affinity', placement(3, null), [NOT_SPREAD]],
    ['3 replicas, only a nodeAffinity (the chart without HA)', placement(3, { nodeAffinity: {} }), [NOT_SPREAD]],
    ['3 replicas with the chart podAntiAffinity', placement(3, undefined), []],
    [
      '3 replicas with topologySpreadConstraints',
      {
        ...placement(3, null),
        spec: {
          replicas: 3,
          template: {
            spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone' }] },
          },
        },
      },
      [],
    ],
    [
      '1 replica: the replica finding alone',
      placement(1, null),
      [`StatefulSet "dapr-placement-server" runs 1 replica — ${HA}`],
    ],
  ];
  assert.equal(cases.length, 5);
  for (const [name, object, expected] of cases) {
    it(name, () => assert.deepEqual(messages(object), expected));
  }
});

describe('control-plane-resources with the guidelines dapr-1.13', () => {
  const rule = controlPlaneResourcesRule('dapr-1.13');
  const current = (object: KubeObject): string[] =>
    evaluate(admissionRequest(object), testPolicy([rule]), 'validate').violations.map((violation) => {
      assert.ok(formatMessage(violation).length <= MAX_WARNING_LENGTH, formatMessage(violation));
      return violation.message;
    });
  const NO_LIMIT = 'limits cpu 1 (no memory limit)';

  it('dapr-system.yaml: memory requests only, never a memory limit; the page since 1.13', () => {
    const found = yamlObjects(`${RENDERED}dapr-system.yaml`).flatMap(current);
    assert.deepEqual(found, [
      `Deployment "dapr-operator" runs 1 replica — ${HA}`,
      `Deployment "dapr-operator", container "dapr-operator": no cpu request, cpu limit, memory request — use requests cpu 100m, memory 100Mi; ${NO_LIMIT}`,
      `Deployment "dapr-sentry" runs 1 replica — ${HA}`,
      `Deployment "dapr-sentry", container "dapr-sentry": no cpu request, cpu limit, memory request — use requests cpu 100m, memory 30Mi; ${NO_LIMIT}`,
      `Deployment "dapr-sidecar-injector" runs 1 replica — ${HA}`,
      `Deployment "dapr-sidecar-injector", container "dapr-sidecar-injector": no cpu request, cpu limit, memory request — use requests cpu 100m, memory 30Mi; ${NO_LIMIT}`,
      `StatefulSet "dapr-placement-server" runs 1 replica — ${HA}`,
      `StatefulSet "dapr-placement-server", container "dapr-placement-server": no cpu request, cpu limit, memory request — use requests cpu 250m, memory 75Mi; ${NO_LIMIT}`,
    ]);
  });

  it('a container that follows the current table, without a memory limit, passes', () => {
    const object = controlPlaneWorkload({
      name: 'dapr-operator',
      replicas: 3,
      containers: [container('dapr-operator', { cpu: '100m', memory: '100Mi' }, { cpu: '1' })],
    });
    assert.deepEqual(current(object), []);
  });

  it('has no Dashboard row: only the deprecation note', () => {
    const dashboard = controlPlaneWorkload({ name: 'dapr-dashboard', containers: [{ name: 'dapr-dashboard' }] });
    assert.deepEqual(current(dashboard), [DASHBOARD_NOTE]);
    assert.equal(messages(dashboard).length, 2, 'dapr-0.11 has a Dashboard row');
  });
});
