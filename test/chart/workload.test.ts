import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helmTemplate, helmTemplateResult, type KubeObject } from '../support/helm.ts';
import {
  containerOf,
  deploymentOf,
  findAll,
  findOne,
  kinds,
  NAMESPACE,
  TLS_CHOICE_NAMES,
  TLS_CHOICES,
} from './objects.ts';

const defaults = helmTemplate();
const SELECTOR = { 'app.kubernetes.io/name': 'dapr-guard', 'app.kubernetes.io/instance': 'dapr-guard' };

describe('default install', () => {
  it('renders exactly the objects a one-command install needs', () => {
    assert.deepEqual(kinds(defaults), [
      'ClusterRole/dapr-guard',
      'ClusterRoleBinding/dapr-guard',
      'ConfigMap/dapr-guard-config',
      'Deployment/dapr-guard',
      'MutatingWebhookConfiguration/dapr-guard',
      'PodDisruptionBudget/dapr-guard',
      'Secret/dapr-guard-tls',
      'Service/dapr-guard',
      'ServiceAccount/dapr-guard',
      'ValidatingWebhookConfiguration/dapr-guard',
    ]);
  });

  it('puts every namespaced object in the release namespace', () => {
    const clusterScoped = new Set([
      'ClusterRole',
      'ClusterRoleBinding',
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
    ]);
    for (const object of defaults) {
      assert.equal(
        object.metadata?.namespace,
        clusterScoped.has(object.kind ?? '') ? undefined : NAMESPACE,
        `${object.kind}/${object.metadata?.name}`,
      );
    }
  });
});

describe('Deployment', () => {
  const deployment = deploymentOf(defaults);
  const pod = deployment.spec.template.spec;
  const container = containerOf(defaults);

  it('runs 2 replicas, 3 with ha.enabled, and honours replicaCount', () => {
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deploymentOf(helmTemplate({ values: { ha: { enabled: true } } })).spec.replicas, 3);
    assert.equal(deploymentOf(helmTemplate({ values: { replicaCount: 4 } })).spec.replicas, 4);
    assert.equal(deploymentOf(helmTemplate({ values: { ha: { enabled: true, replicaCount: 5 } } })).spec.replicas, 5);
  });

  it('rolls out without ever removing a serving replica first', () => {
    assert.deepEqual(deployment.spec.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  it('spreads replicas across nodes, and across zones with ha.enabled', () => {
    const spread = (objects: readonly KubeObject[]): string[] =>
      (deploymentOf(objects).spec.template.spec.topologySpreadConstraints ?? []).map(
        (c) => `${c.topologyKey}/${c.whenUnsatisfiable}/${c.maxSkew}`,
      );
    assert.deepEqual(spread(defaults), ['kubernetes.io/hostname/ScheduleAnyway/1']);
    assert.deepEqual(
      spread(helmTemplate({ values: { ha: { enabled: true }, spread: { whenUnsatisfiable: 'DoNotSchedule' } } })),
      ['kubernetes.io/hostname/DoNotSchedule/1', 'topology.kubernetes.io/zone/DoNotSchedule/1'],
    );
    const custom = [
      {
        maxSkew: 2,
        topologyKey: 'rack',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: SELECTOR },
      },
    ];
    assert.deepEqual(
      deploymentOf(helmTemplate({ values: { topologySpreadConstraints: custom } })).spec.template.spec
        .topologySpreadConstraints,
      custom,
    );
  });

  it('selects its pods by the release labels', () => {
    assert.deepEqual(deployment.spec.selector.matchLabels, SELECTOR);
    for (const [key, value] of Object.entries(SELECTOR))
      assert.equal(deployment.spec.template.metadata.labels[key], value);
  });

  it('runs the chart appVersion image, or a pinned digest', () => {
    assert.equal(container.image, 'ghcr.io/dapr-guard/dapr-guard:0.1.0');
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(
      containerOf(helmTemplate({ values: { image: { digest } } })).image,
      `ghcr.io/dapr-guard/dapr-guard:0.1.0@${digest}`,
    );
    assert.equal(
      containerOf(helmTemplate({ values: { image: { repository: 'registry.local/guard', tag: 'dev' } } })).image,
      'registry.local/guard:dev',
    );
  });

  it('requests and limits resources', () => {
    assert.deepEqual(container.resources, {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    });
  });

  it('caps the V8 heap under the memory limit: 3/4 of it, or server.maxOldSpaceSizeMiB', () => {
    const nodeOptions = (values: Record<string, unknown>): string | undefined =>
      containerOf(helmTemplate({ values })).env?.find((variable) => variable.name === 'NODE_OPTIONS')?.value;
    const cases: readonly [Record<string, unknown>, string | undefined][] = [
      [{}, '--max-old-space-size=384'],
      [{ resources: { limits: { memory: '1Gi' } } }, '--max-old-space-size=768'],
      [{ resources: { limits: { memory: '1.5Gi' } } }, '--max-old-space-size=1152'],
      [{ resources: { limits: { memory: '1000M' } } }, '--max-old-space-size=715'],
      [{ resources: { limits: { memory: '536870912' } } }, '--max-old-space-size=384'],
      [{ server: { maxOldSpaceSizeMiB: 300 } }, '--max-old-space-size=300'],
      [{ resources: { limits: null } }, undefined],
    ];
    assert.equal(cases.length, 7);
    for (const [values, expected] of cases) assert.equal(nodeOptions(values), expected, JSON.stringify(values));
    const odd = helmTemplateResult({ values: { resources: { limits: { memory: '1e9' } } } });
    assert.equal(odd.ok, false);
    assert.match(odd.stderr, /cannot derive the V8 heap limit; set server\.maxOldSpaceSizeMiB/);
  });

  it('probes liveness on /healthz and readiness on /readyz over HTTPS', () => {
    assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(
      container.ports?.map((port) => [port.name, port.containerPort]),
      [
        ['https', 8443],
        ['metrics', 9090],
      ],
    );
  });

  it('is locked down: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp', () => {
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('reads its configuration from the ConfigMap through DAPR_GUARD_CONFIG, and keeps the image entrypoint', () => {
    assert.deepEqual(container.env, [
      { name: 'DAPR_GUARD_CONFIG', value: '/etc/dapr-guard/config.yaml' },
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=384' },
    ]);
    assert.equal((container as unknown as Record<string, unknown>)['command'], undefined);
    assert.equal((container as unknown as Record<string, unknown>)['args'], undefined);
    assert.deepEqual(pod.volumes?.find((volume) => volume.name === 'config')?.configMap, { name: 'dapr-guard-config' });
    assert.deepEqual(
      container.volumeMounts?.find((mount) => mount.name === 'config'),
      { name: 'config', mountPath: '/etc/dapr-guard', readOnly: true },
    );
    assert.deepEqual(
      container.volumeMounts?.find((mount) => mount.name === 'tmp'),
      { name: 'tmp', mountPath: '/tmp' },
    );
  });

  it('rolls the pods when the configuration changes', () => {
    const checksum = (objects: readonly KubeObject[]): string | undefined =>
      deploymentOf(objects).spec.template.metadata.annotations?.['checksum/config'];
    assert.match(checksum(defaults) ?? '', /^[0-9a-f]{64}$/);
    assert.notEqual(checksum(helmTemplate({ values: { mode: 'audit' } })), checksum(defaults));
  });

  it('gives the server time to drain: shutdown delay + grace < terminationGracePeriodSeconds', () => {
    assert.equal(pod.terminationGracePeriodSeconds, 30);
    const result = helmTemplateResult({
      values: { server: { shutdownDelaySeconds: 10, shutdownGracePeriodSeconds: 20 } },
    });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /must be less than terminationGracePeriodSeconds \(30\)/);
  });
});

describe('ServiceAccount token', () => {
  const automount = (values: Record<string, unknown>): boolean | undefined =>
    deploymentOf(helmTemplate({ values })).spec.template.spec.automountServiceAccountToken;

  it('is not automounted by the ServiceAccount itself', () => {
    assert.equal(findOne(defaults, 'ServiceAccount')['automountServiceAccountToken'], false);
  });

  it('is mounted when the server watches namespace labels or manages its TLS, and only then', () => {
    assert.equal(deploymentOf(defaults).spec.template.spec.automountServiceAccountToken, true);
    assert.equal(automount({ namespaceModes: { source: 'auto' } }), true);
    assert.equal(automount({ namespaceModes: { source: 'off' } }), false);
    assert.equal(automount({ namespaceModes: { source: 'off' }, tls: { mode: 'selfManaged' } }), true);
    assert.equal(automount({ namespaceModes: { source: 'off' }, tls: { mode: 'certManager' } }), false);
  });

  it('uses a given ServiceAccount when the chart does not create one', () => {
    const objects = helmTemplate({ values: { serviceAccount: { create: false, name: 'platform-sa' } } });
    assert.equal(findAll(objects, 'ServiceAccount').length, 0);
    assert.equal(deploymentOf(objects).spec.template.spec.serviceAccountName, 'platform-sa');
  });
});

describe('PodDisruptionBudget', () => {
  it('allows one voluntary disruption at a time, for the dapr-guard pods', () => {
    const pdb = findOne(defaults, 'PodDisruptionBudget');
    assert.equal(pdb.apiVersion, 'policy/v1');
    assert.deepEqual(pdb['spec'], {
      maxUnavailable: 1,
      selector: { matchLabels: SELECTOR },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });

  it('uses policy/v1beta1 before Kubernetes 1.21 and drops unhealthyPodEvictionPolicy before 1.27', () => {
    const old = findOne(helmTemplate({ kubeVersion: '1.20.2' }), 'PodDisruptionBudget');
    assert.equal(old.apiVersion, 'policy/v1beta1');
    assert.equal((old['spec'] as Record<string, unknown>)['unhealthyPodEvictionPolicy'], undefined);
    const mid = findOne(helmTemplate({ kubeVersion: '1.26.0' }), 'PodDisruptionBudget');
    assert.equal(mid.apiVersion, 'policy/v1');
    assert.equal((mid['spec'] as Record<string, unknown>)['unhealthyPodEvictionPolicy'], undefined);
  });

  it('can be turned off', () => {
    assert.equal(
      findAll(helmTemplate({ values: { podDisruptionBudget: { enabled: false } } }), 'PodDisruptionBudget').length,
      0,
    );
  });
});

describe('Service and metrics', () => {
  it('maps 443 to the https port and exposes the metrics port', () => {
    const spec = findOne(defaults, 'Service')['spec'] as { type: string; selector: unknown; ports: unknown };
    assert.equal(spec.type, 'ClusterIP');
    assert.deepEqual(spec.selector, SELECTOR);
    assert.deepEqual(spec.ports, [
      { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
    ]);
  });

  it('drops the metrics port when metrics are disabled', () => {
    const objects = helmTemplate({ values: { metrics: { enabled: false, serviceMonitor: { enabled: true } } } });
    const ports = (findOne(objects, 'Service')['spec'] as { ports: { name: string }[] }).ports;
    assert.deepEqual(
      ports.map((port) => port.name),
      ['https'],
    );
    assert.deepEqual(
      containerOf(objects).ports?.map((port) => port.name),
      ['https'],
    );
    assert.equal(findAll(objects, 'ServiceMonitor').length, 0);
  });

  it('renders a ServiceMonitor on request', () => {
    assert.equal(findAll(defaults, 'ServiceMonitor').length, 0);
    const monitor = findOne(
      helmTemplate({ values: { metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } } } }),
      'ServiceMonitor',
    );
    assert.equal(monitor.metadata?.labels?.['release'], 'prom');
    assert.deepEqual((monitor['spec'] as { endpoints: unknown }).endpoints, [
      { port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s', scrapeTimeout: '10s' },
    ]);
  });
});

describe('NetworkPolicy', () => {
  it('is off by default', () => {
    assert.equal(findAll(defaults, 'NetworkPolicy').length, 0);
  });

  it('admits the webhook and metrics ports, from the given peers, and restricts egress only when asked', () => {
    const webhookFrom = [{ ipBlock: { cidr: '10.0.0.0/24' } }];
    const metricsFrom = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    const open = findOne(
      helmTemplate({ values: { networkPolicy: { enabled: true, webhookFrom, metricsFrom } } }),
      'NetworkPolicy',
    )['spec'] as Record<string, unknown>;
    assert.deepEqual(open['policyTypes'], ['Ingress']);
    assert.deepEqual(open['ingress'], [
      { ports: [{ port: 8443, protocol: 'TCP' }], from: webhookFrom },
      { ports: [{ port: 9090, protocol: 'TCP' }], from: metricsFrom },
    ]);
    const egress = [
      {
        ports: [
          { port: 443, protocol: 'TCP' },
          { port: 53, protocol: 'UDP' },
        ],
      },
    ];
    const closed = findOne(
      helmTemplate({ values: { networkPolicy: { enabled: true, webhookFrom, egress } } }),
      'NetworkPolicy',
    )['spec'] as Record<string, unknown>;
    assert.deepEqual(closed['policyTypes'], ['Ingress', 'Egress']);
    assert.deepEqual(closed['egress'], egress);
  });

  it('enabled without webhookFrom is refused, not rendered as an allow-all rule', () => {
    for (const webhookFrom of [undefined, []]) {
      const result = helmTemplateResult({
        values: { networkPolicy: { enabled: true, ...(webhookFrom === undefined ? {} : { webhookFrom }) } },
      });
      assert.equal(result.ok, false);
      assert.match(result.stderr, /networkPolicy/);
      assert.match(result.stderr, /webhookFrom/);
    }
    const unchecked = helmTemplateResult({
      values: { networkPolicy: { enabled: true } },
      extraArgs: ['--skip-schema-validation'],
    });
    assert.equal(unchecked.ok, false);
    assert.match(
      unchecked.stderr,
      /networkPolicy\.enabled needs networkPolicy\.webhookFrom: an empty list would let any pod reach the webhook port/,
    );
  });
});

describe('every TLS choice', () => {
  for (const choice of TLS_CHOICE_NAMES) {
    it(`${choice}: keeps the hardened pod and mounts the certificate directory`, () => {
      const objects = helmTemplate({ values: TLS_CHOICES[choice] });
      const container = containerOf(objects);
      assert.equal(container.securityContext?.['readOnlyRootFilesystem'], true);
      assert.ok(
        container.volumeMounts?.some((mount) => mount.name === 'tls' && mount.mountPath === '/var/run/dapr-guard/tls'),
      );
    });
  }
});
