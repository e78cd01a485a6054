import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionRequest, KubeObject } from '../../src/admission/wire.ts';
import { decide, formatMessage } from '../../src/policy/decide.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import type { Violation } from '../../src/policy/evaluation.ts';
import { CONTROL_PLANE_NAMESPACE_RULE_ID, controlPlaneNamespaceRule } from '../../src/rules/control-plane-namespace.ts';
import { fixtureFiles, fixtureText, yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest, type RequestOptions } from '../support/requests.ts';

const RENDERED = 'dapr-manifests/rendered/';
const HOW_TO_FIX =
  'install Dapr in its own namespace: helm install dapr dapr/dapr --namespace dapr-system --create-namespace';

function violations(request: AdmissionRequest): readonly Violation[] {
  const found = evaluate(request, testPolicy([controlPlaneNamespaceRule()]), 'validate').violations;
  for (const violation of found) {
    assert.equal(violation.ruleId, CONTROL_PLANE_NAMESPACE_RULE_ID);
    assert.ok(
      formatMessage(violation).length <= MAX_WARNING_LENGTH,
      `too long for a warning: ${formatMessage(violation)}`,
    );
  }
  return found;
}

/** As the API server sends it: request.namespace is the object's namespace, unset for cluster-scoped kinds. */
function review(object: KubeObject, options: RequestOptions = {}): AdmissionRequest {
  const namespace = options.namespace ?? object.metadata?.namespace;
  return admissionRequest(object, namespace === undefined ? options : { ...options, namespace });
}

function messages(object: KubeObject, options: RequestOptions = {}): string[] {
  return violations(review(object, options)).map((violation) => violation.message);
}

function id(object: KubeObject): string {
  return `${object.kind}/${object.metadata?.name}`;
}

interface RenderedRow {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

function renderedRows(file: string): RenderedRow[] {
  return fixtureText(`${RENDERED}objects.tsv`)
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split('\t'))
    .map(([rowFile = '', , , kind = '', name = '', namespace = '']) => ({ file: rowFile, kind, name, namespace }))
    .filter((row) => row.file === file);
}

const SECRET_READER = new Set(['Role/secret-reader', 'RoleBinding/dapr-secret-reader']);

describe('control-plane-namespace', () => {
  describe('rendered/default-ns.yaml (the chart installed into default)', () => {
    const objects = yamlObjects(`${RENDERED}default-ns.yaml`);

    it('refuses every control-plane object, as listed in objects.tsv', () => {
      const rows = renderedRows('default-ns.yaml');
      assert.equal(objects.length, 40);
      assert.deepEqual(
        objects.map(id),
        rows.map((row) => `${row.kind}/${row.name}`),
      );
      const expected = rows
        .filter((row) =>
          row.namespace === 'default'
            ? !SECRET_READER.has(`${row.kind}/${row.name}`)
            : ['ClusterRoleBinding', 'MutatingWebhookConfiguration'].includes(row.kind),
        )
        .map((row) => `${row.kind}/${row.name}`);
      const refused = objects.filter((object) => {
        const request = review(object);
        return !decide(request.uid, evaluate(request, testPolicy([controlPlaneNamespaceRule()]), 'validate')).allowed;
      });
      assert.equal(
        expected.length,
        27 + 5 + 1,
        '27 namespaced objects, 5 ClusterRoleBindings, the MutatingWebhookConfiguration',
      );
      assert.deepEqual(refused.map(id), expected);
    });

    it('allows the ClusterRoles and the secret-reader Role and RoleBinding', () => {
      const allowed = objects.filter((object) => violations(review(object)).length === 0).map(id);
      assert.deepEqual(allowed, [
        'ClusterRole/dapr-injector',
        'ClusterRole/dapr-operator-admin',
        'ClusterRole/dapr-placement',
        'ClusterRole/dapr-scheduler',
        'ClusterRole/dapr-sentry',
        'Role/secret-reader',
        'RoleBinding/dapr-secret-reader',
      ]);
    });

    it('says what is wrong and how to install Dapr in a namespace of its own', () => {
      const byId = new Map(objects.map((object) => [id(object), object]));
      const messageOf = (key: string): string[] => messages(byId.get(key) ?? {});
      assert.deepEqual(messageOf('Deployment/dapr-operator'), [
        `Dapr control-plane Deployment "dapr-operator" must not be in namespace "default" — ${HOW_TO_FIX}`,
      ]);
      assert.deepEqual(messageOf('PodDisruptionBudget/dapr-scheduler-server-disruption-budget'), [
        `Dapr control-plane PodDisruptionBudget "dapr-scheduler-server-disruption-budget" must not be in namespace "default" — ${HOW_TO_FIX}`,
      ]);
      assert.deepEqual(messageOf('Configuration/daprsystem'), [
        `Dapr control-plane Configuration "daprsystem" must not be in namespace "default" — ${HOW_TO_FIX}`,
      ]);
      assert.deepEqual(messageOf('MutatingWebhookConfiguration/dapr-sidecar-injector'), [
        `Dapr MutatingWebhookConfiguration "dapr-sidecar-injector" calls a Service in namespace "default" — ${HOW_TO_FIX}`,
      ]);
      assert.deepEqual(messageOf('ClusterRoleBinding/dapr-operator-admin'), [
        `Dapr ClusterRoleBinding "dapr-operator-admin" grants cluster rights to ServiceAccount "default/dapr-operator" — ${HOW_TO_FIX}`,
      ]);
    });
  });

  describe('installs into dapr-system are allowed, including the two objects they put in default', () => {
    for (const file of ['dapr-system.yaml', 'dapr-system-ha.yaml', 'dapr-system-custom-labels.yaml']) {
      it(file, () => {
        const objects = yamlObjects(`${RENDERED}${file}`);
        assert.equal(objects.length, renderedRows(file).length);
        const inDefault = objects.filter((object) => object.metadata?.namespace === 'default').map(id);
        assert.deepEqual(inDefault, ['Role/secret-reader', 'RoleBinding/dapr-secret-reader']);
        for (const object of objects) assert.deepEqual(violations(review(object)), [], id(object));
      });
    }
  });

  it('recognises the chart by hard-coded names and labels, not by the k8sLabels users change', () => {
    const custom = yamlObjects(`${RENDERED}dapr-system-custom-labels.yaml`);
    const stripped = custom.map((object) => withoutRecommendedLabels(object));
    const namespaced = stripped.filter(
      (object) => object.metadata?.namespace !== undefined && !SECRET_READER.has(id(object)),
    );
    assert.equal(namespaced.length, 27);
    for (const object of namespaced)
      assert.equal(violations(review(object, { namespace: 'default' })).length, 1, id(object));
  });

  describe('edge cases in default', () => {
    const deployment = (
      name: string,
      podAnnotations: Record<string, string> = {},
      labels: Record<string, string> = { app: name },
    ): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'default', labels },
      spec: {
        selector: { matchLabels: labels },
        template: { metadata: { labels, annotations: podAnnotations }, spec: { containers: [] } },
      },
    });

    const allowed: ReadonlyArray<readonly [string, KubeObject]> = [
      ['an app Deployment named dapr-operator-ui', deployment('dapr-operator-ui')],
      [
        'an app Deployment labelled app.kubernetes.io/part-of: dapr',
        deployment('orders', {}, { 'app.kubernetes.io/part-of': 'dapr', 'app.kubernetes.io/name': 'dapr' }),
      ],
      [
        'a Dapr-enabled app Deployment',
        deployment('nodeapp', { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'nodeapp' }),
      ],
      ['a Pod with an unknown dapr.io/control-plane value', pod({ 'dapr.io/control-plane': 'dashboard' })],
      ['the Service the Dapr operator creates for an app', service('nodeapp-dapr', { 'dapr.io/enabled': 'true' })],
      ['an operator-created Service whose name matches the chart', service('dapr-api', { 'dapr.io/enabled': 'true' })],
      [
        'an app Configuration',
        {
          apiVersion: 'dapr.io/v1alpha1',
          kind: 'Configuration',
          metadata: { name: 'appconfig', namespace: 'default' },
        },
      ],
      [
        'an app Secret',
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dapr-api-token', namespace: 'default' } },
      ],
      [
        'a ConfigMap labelled like the chart by k8sLabels only',
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'settings', namespace: 'default', labels: { 'app.kubernetes.io/part-of': 'dapr' } },
        },
      ],
      [
        'a ServiceAccount named like an app',
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'dapr-operator-ui', namespace: 'default' } },
      ],
    ];
    for (const [name, object] of allowed) {
      it(`allows ${name}`, () => assert.deepEqual(violations(review(object, { namespace: 'default' })), []));
    }

    const refused: ReadonlyArray<readonly [string, KubeObject, string]> = [
      [
        'a renamed operator Deployment, by its pod annotation',
        deployment('acme-operator', { 'dapr.io/control-plane': 'operator' }, { app: 'acme-operator' }),
        'Deployment "acme-operator"',
      ],
      [
        'a renamed Deployment, by its app label',
        deployment('acme-sentry', {}, { app: 'dapr-sentry' }),
        'Deployment "acme-sentry"',
      ],
      [
        'a renamed trust bundle Secret, by its app label',
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-trust-bundle', labels: { app: 'dapr-sentry' } } },
        'Secret "acme-trust-bundle"',
      ],
      ['a Service without namespace in its metadata', service('dapr-sentry', {}), 'Service "dapr-sentry"'],
      [
        'a bare control-plane Pod known only by generateName',
        pod({ 'dapr.io/control-plane': 'placement' }),
        'Pod "dapr-placement-server-…"',
      ],
      [
        'a namespaced Role of global.rbac.namespaced',
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'dapr-placement' } },
        'Role "dapr-placement"',
      ],
    ];
    for (const [name, object, described] of refused) {
      it(`refuses ${name}`, () => {
        // request.namespace is what counts: objects often omit metadata.namespace.
        assert.deepEqual(violations(review(object, { namespace: 'default' })), [
          {
            ruleId: CONTROL_PLANE_NAMESPACE_RULE_ID,
            mode: 'enforce',
            message: `Dapr control-plane ${described} must not be in namespace "default" — ${HOW_TO_FIX}`,
          },
        ]);
      });
    }

    it('only warns about a control-plane Pod a controller creates: refusing it would take down a running control plane', () => {
      const owned = pod({ 'dapr.io/control-plane': 'sentry' }, [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'dapr-sentry-5d8f', uid: 'u', controller: true },
      ]);
      assert.deepEqual(
        violations(review(owned, { namespace: 'default' })).map((violation) => violation.mode),
        ['warn'],
      );
    });

    it('only warns about a ReplicaSet the Deployment controller creates for an existing operator', () => {
      const operator =
        yamlObjects(`${RENDERED}default-ns.yaml`).find(
          (object) => object.kind === 'Deployment' && object.metadata?.name === 'dapr-operator',
        ) ?? {};
      const replicaSet: KubeObject = {
        ...operator,
        kind: 'ReplicaSet',
        metadata: {
          name: 'dapr-operator-7c9d8f',
          namespace: 'default',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: 'dapr-operator', uid: 'u', controller: true },
          ],
        },
      };
      assert.deepEqual(
        violations(review(replicaSet)).map((violation) => violation.mode),
        ['warn'],
      );
      const { ownerReferences: _owners, ...bare } = replicaSet.metadata ?? {};
      assert.deepEqual(
        violations(review({ ...replicaSet, metadata: bare })).map((violation) => violation.mode),
        ['enforce'],
      );
    });

    it('only warns about UPDATEs of control-plane objects that are in default already', () => {
      const bundle: KubeObject = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'dapr-trust-bundle', namespace: 'default', labels: { app: 'dapr-sentry' } },
      };
      const updated = { ...bundle, data: { 'ca.crt': 'LS0t' } };
      const found = violations(
        review(updated, {
          operation: 'UPDATE',
          oldObject: bundle,
          username: 'system:serviceaccount:default:dapr-sentry',
        }),
      );
      assert.deepEqual(
        found.map((violation) => violation.mode),
        ['warn'],
      );
      const injector =
        yamlObjects(`${RENDERED}default-ns.yaml`).find((object) => object.kind === 'MutatingWebhookConfiguration') ??
        {};
      assert.deepEqual(
        violations(review(injector, { operation: 'UPDATE', oldObject: injector })).map((violation) => violation.mode),
        ['warn'],
      );
    });

    it('refuses an UPDATE that turns an app object into a control-plane object', () => {
      const before: KubeObject = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'certs', namespace: 'default' },
      };
      const after: KubeObject = { ...before, metadata: { ...before.metadata, labels: { app: 'dapr-sentry' } } };
      assert.deepEqual(
        violations(review(after, { operation: 'UPDATE', oldObject: before })).map((violation) => violation.mode),
        ['enforce'],
      );
    });
  });

  it('allows control-plane objects in any other namespace', () => {
    const objects = yamlObjects(`${RENDERED}default-ns.yaml`).filter(
      (object) => object.metadata?.namespace !== undefined,
    );
    for (const namespace of ['dapr-system', 'kube-system', 'platform', 'default-apps']) {
      for (const object of objects)
        assert.deepEqual(violations(review(object, { namespace })), [], `${id(object)} in ${namespace}`);
    }
  });

  describe('cluster-scoped objects', () => {
    const mwc = (
      namespaces: string[],
      name = 'dapr-sidecar-injector',
      labels: Record<string, string> = {},
    ): KubeObject => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name, labels },
      webhooks: namespaces.map((namespace) => ({
        name: 'sidecar-injector.dapr.io',
        clientConfig: { service: { namespace, name: 'dapr-sidecar-injector' } },
      })),
    });
    const crb = (name: string, subjects: unknown[]): KubeObject => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    });
    const cases: ReadonlyArray<readonly [string, KubeObject, number]> = [
      ['the injector webhook calling dapr-system', mwc(['dapr-system']), 0],
      ['the injector webhook without webhooks', mwc([]), 0],
      [
        'the injector webhook, renamed, known by its app label',
        mwc(['default'], 'acme-injector', { app: 'dapr-sidecar-injector' }),
        1,
      ],
      ["another product's webhook calling default", mwc(['default'], 'istio-sidecar-injector'), 0],
      [
        'a chart ClusterRoleBinding to dapr-system',
        crb('dapr-sentry', [{ kind: 'ServiceAccount', name: 'dapr-sentry', namespace: 'dapr-system' }]),
        0,
      ],
      [
        'a chart ClusterRoleBinding to default',
        crb('dapr-sentry', [{ kind: 'ServiceAccount', name: 'dapr-sentry', namespace: 'default' }]),
        1,
      ],
      ['a chart ClusterRoleBinding to a group', crb('dapr-sentry', [{ kind: 'Group', name: 'default' }]), 0],
      [
        'an app ClusterRoleBinding to default',
        crb('orders-reader', [{ kind: 'ServiceAccount', name: 'orders', namespace: 'default' }]),
        0,
      ],
      [
        'a chart ClusterRole',
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'dapr-operator-admin' } },
        0,
      ],
    ];
    for (const [name, object, count] of cases) {
      it(`${count === 0 ? 'allows' : 'refuses'} ${name}`, () => assert.equal(violations(review(object)).length, count));
    }

    it('shortens a long ServiceAccount name so the message fits in a warning', () => {
      const object = crb('dapr-operator-admin', [
        { kind: 'ServiceAccount', name: 'x'.repeat(200), namespace: 'default' },
      ]);
      assert.deepEqual(messages(object), [
        `Dapr ClusterRoleBinding "dapr-operator-admin" grants cluster rights to ServiceAccount "default/${'x'.repeat(19)}…" — ${HOW_TO_FIX}`,
      ]);
    });
  });

  it('keeps every message within a warning, even for the longest names', () => {
    const long = 'n'.repeat(253);
    const objects: KubeObject[] = [
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: long, labels: { app: 'dapr-sentry' } },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: long, labels: { app: 'dapr-sidecar-injector' } },
        webhooks: [{ clientConfig: { service: { namespace: 'default' } } }],
      },
    ];
    for (const object of objects)
      assert.equal(
        violations(review(object, object.kind === 'PodDisruptionBudget' ? { namespace: 'default' } : {})).length,
        1,
      );
  });

  it('survives malformed objects', () => {
    const shapes: ReadonlyArray<readonly [KubeObject, string | undefined, number]> = [
      [{ kind: 'Deployment', metadata: { name: 'dapr-operator' }, spec: 'x' }, 'default', 1],
      [
        { kind: 'Deployment', spec: { template: { metadata: { annotations: 'dapr.io/control-plane' } } } },
        'default',
        0,
      ],
      [
        { kind: 'Pod', metadata: { annotations: { 'dapr.io/control-plane': 7 } } } as unknown as KubeObject,
        'default',
        0,
      ],
      [{ kind: 'Service', metadata: { name: 42, labels: [] } } as unknown as KubeObject, 'default', 0],
      [
        {
          kind: 'MutatingWebhookConfiguration',
          metadata: { name: 'dapr-sidecar-injector' },
          webhooks: [null, { clientConfig: 'x' }, { clientConfig: { service: { namespace: 3 } } }],
        },
        undefined,
        0,
      ],
      [
        { kind: 'MutatingWebhookConfiguration', metadata: { name: 'dapr-sidecar-injector' }, webhooks: 'default' },
        undefined,
        0,
      ],
      [{ kind: 'ClusterRoleBinding', metadata: { name: 'dapr-sentry' }, subjects: 'default' }, undefined, 0],
      [
        {
          kind: 'ClusterRoleBinding',
          metadata: { name: 'dapr-sentry' },
          subjects: [null, { kind: 'ServiceAccount', name: 'x' }],
        },
        undefined,
        0,
      ],
    ];
    for (const [object, namespace, count] of shapes) {
      assert.equal(
        violations(admissionRequest(object, namespace === undefined ? {} : { namespace })).length,
        count,
        JSON.stringify(object),
      );
    }
  });

  it('in the corpus, refuses only the three docs examples that put Configuration daprsystem in default', () => {
    const reviewable = new Set([
      'Deployment',
      'StatefulSet',
      'Job',
      'Pod',
      'Service',
      'Secret',
      'Role',
      'RoleBinding',
      'Configuration',
      'Component',
    ]);
    const refused = fixtureFiles('dapr-corpus', '.yaml').flatMap((file) =>
      yamlObjects(file)
        .filter((object) => reviewable.has(object.kind ?? ''))
        .filter(
          (object) => violations(review(object, { namespace: object.metadata?.namespace ?? 'default' })).length > 0,
        )
        .map((object) => `${file.replace('dapr-corpus/', '')} ${id(object)}`),
    );
    assert.deepEqual(refused, [
      'dapr_docs__daprdocs__content__en__operations__security__mtls.md__block01.yaml Configuration/daprsystem',
      'dapr_docs__daprdocs__content__en__operations__security__mtls.md__block33.yaml Configuration/daprsystem',
      'dapr_docs__daprdocs__content__en__operations__security__mtls.md__block38.yaml Configuration/daprsystem',
    ]);
  });
});

function pod(annotations: Record<string, string>, ownerReferences?: unknown[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'dapr-placement-server-',
      labels: { app: 'dapr-placement-server' },
      annotations,
      ...(ownerReferences === undefined ? {} : { ownerReferences }),
    },
    spec: { containers: [{ name: 'dapr-placement-server', image: 'ghcr.io/dapr/placement:edge' }] },
  };
}

function service(name: string, labels: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { clusterIP: 'None' } };
}

function withoutRecommendedLabels(object: KubeObject): KubeObject {
  const strip = (labels: unknown): Record<string, string> =>
    Object.fromEntries(
      Object.entries((labels ?? {}) as Record<string, string>).filter(([key]) => !key.startsWith('app.kubernetes.io/')),
    );
  const copy = structuredClone(object) as KubeObject & { spec?: { template?: { metadata?: { labels?: unknown } } } };
  const template = copy.spec?.template?.metadata;
  if (template !== undefined) template.labels = strip(template.labels);
  return { ...copy, metadata: { ...copy.metadata, labels: strip(copy.metadata?.labels) } };
}
