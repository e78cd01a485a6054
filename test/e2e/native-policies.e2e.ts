/**
 * The chart's native admission policies (nativePolicies) on the real API server, with no dapr-guard
 * webhook registered and no dapr-guard running: they enforce on their own (a plaintext Component and a
 * bad quantity refused, a Dapr Pod defaulted), and they decide like the webhook's pure core,
 * reviewObject (src/webhook/review-object.ts), object by object over the recorded reviews, the Dapr
 * chart renderings and the 298-manifest corpus: allowed or denied (with the same message), warned
 * (the same rules) and the resulting pod annotations. The findings only the webhook has (README,
 * "Native admission policies") are taken out of the webhook's side, and counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import type { Violation } from '../../src/policy/evaluation.ts';
import { reviewObject } from '../../src/webhook/review-object.ts';
import { componentPlaintextSecretsRule } from '../../src/rules/component-plaintext-secrets.ts';
import { controlPlaneNamespaceRule } from '../../src/rules/control-plane-namespace.ts';
import { mtlsEnabledRule } from '../../src/rules/mtls-enabled.ts';
import { sidecarResourceValuesRule } from '../../src/rules/sidecar-resource-values.ts';
import { sidecarResourcesRule } from '../../src/rules/sidecar-resources.ts';
import { PRODUCTION_SIDECAR_RESOURCES } from '../../src/rules/support/dapr-annotations.ts';
import { podMetadataPath } from '../../src/rules/support/workloads.ts';
import { kindResourceOf } from '../../src/admission/kinds.ts';
import { fixtureFiles, jsonFixture, yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { sharedCluster, startCluster, stopCluster, type ClusterInfo } from './support/cluster.ts';
import { lines, plaintextSecretMessage } from './support/expected.ts';
import { Kubectl, toManifest, type CommandResult } from './support/kubectl.ts';
import {
  installNativePolicies,
  NATIVE_RELEASE,
  removeNativePolicies,
  renderNativePolicies,
  webhookConfigurations,
  type NativePolicies,
} from './support/native-policies.ts';
import {
  component,
  daprApp,
  deployment,
  namespaceObject,
  pod,
  podTemplateAnnotations,
  PRODUCTION_SIDECAR_ANNOTATIONS,
  randomSuffix,
} from './support/objects.ts';

const APP_NAMESPACE = `e2e-native-app-${randomSuffix()}`;
const WARN_NAMESPACE = `e2e-native-warn-${randomSuffix()}`;
/** The harness's kubeconfig user (test/e2e/cluster/kube-up.sh), as reviewObject should see it. */
const ADMIN = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
const POLICY = (suffix: string): string => `dapr-guard-${NATIVE_RELEASE.name}-${suffix}`;
/** kubectl's line for a refusal by a ValidatingAdmissionPolicy, for a create from `-f -`. */
const refusedLine = (resource: string, reason: string, policy: string, message: string): string =>
  `Error from server (${reason}): error when creating "STDIN": ${resource} is forbidden: ValidatingAdmissionPolicy '${policy}' with binding '${policy}' denied request: ${message}`;

let cluster: ClusterInfo;
let ownsCluster = false;
let kubectl: Kubectl;
let policies: NativePolicies = { objects: [], servesValidating: false, servesMutating: false };

/** Differences the chart README lists ("Native admission policies"), by object, with the reason. */
const KNOWN_DIFFERENCES: ReadonlyMap<string, string> = new Map([
  ['edge: dapr.io/sidecar-cpu-limit "é"', 'the policy message does not quote a value that is not printable ASCII'],
]);

const NATIVE_RULES = [
  sidecarResourcesRule(PRODUCTION_SIDECAR_RESOURCES),
  sidecarResourceValuesRule(),
  componentPlaintextSecretsRule(),
  controlPlaneNamespaceRule(),
  mtlsEnabledRule(),
];
const WEBHOOK_POLICY = testPolicy(NATIVE_RULES);

describe('native admission policies, with dapr-guard stopped', { timeout: 420_000 }, () => {
  before(
    async () => {
      const shared = sharedCluster();
      ownsCluster = shared === undefined;
      cluster = shared ?? (await startCluster());
      kubectl = new Kubectl(cluster.kubeconfig, cluster.kubectl);
      policies = await renderNativePolicies(cluster, kubectl);
      if (!policies.servesValidating) return;
      await kubectl.ok(['apply', '-f', '-'], {
        input: toManifest([
          namespaceObject(APP_NAMESPACE),
          namespaceObject(WARN_NAMESPACE, { 'dapr-guard.io/mode': 'warn' }),
        ]),
      });
      await installNativePolicies(kubectl, policies, APP_NAMESPACE);
    },
    { timeout: 300_000 },
  );
  after(
    async () => {
      if (kubectl !== undefined) {
        await removeNativePolicies(kubectl, policies);
        await kubectl.run(['delete', 'namespace', APP_NAMESPACE, WARN_NAMESPACE, '--ignore-not-found', '--wait=false']);
      }
      if (ownsCluster) await stopCluster(cluster);
    },
    { timeout: 300_000 },
  );

  test('the chart renders the policies the API server serves, and it accepts all of them', (t) => {
    if (!policies.servesValidating)
      return t.skip('the API server serves no ValidatingAdmissionPolicy (Kubernetes 1.30+)');
    const kinds = policies.objects.map((object) => object.kind ?? '');
    const count = (kind: string): number => kinds.filter((candidate) => candidate === kind).length;
    assert.deepEqual(
      {
        configMaps: count('ConfigMap'),
        validating: count('ValidatingAdmissionPolicy'),
        validatingBindings: count('ValidatingAdmissionPolicyBinding'),
        mutating: count('MutatingAdmissionPolicy'),
        mutatingBindings: count('MutatingAdmissionPolicyBinding'),
      },
      {
        configMaps: 1,
        // mtls, sidecar values, plaintext and empty secrets, control plane new and existing; 4 bindings each
        validating: 6,
        validatingBindings: 24,
        mutating: policies.servesMutating ? 1 : 0,
        // none for namespaces labelled audit: an audited mutation is not applied
        mutatingBindings: policies.servesMutating ? 3 : 0,
      },
    );
  });

  test('no dapr-guard webhook is registered', async (t) => {
    if (!policies.servesValidating) return t.skip('no ValidatingAdmissionPolicy');
    assert.deepEqual(
      (await webhookConfigurations(kubectl)).filter((name) => name.includes('dapr-guard')),
      [],
    );
  });

  test('a plaintext Component password is refused with the webhook message, and the value appears nowhere', async (t) => {
    if (!policies.servesValidating) return t.skip('no ValidatingAdmissionPolicy');
    const secret = `s3cr3t-${randomSuffix()}`;
    const result = await kubectl.create(
      component('statestore', APP_NAMESPACE, 'state.redis', [
        { name: 'redisHost', value: 'redis:6379' },
        { name: 'redisPassword', value: secret },
      ]),
    );
    assert.deepEqual(seen(result), {
      code: 1,
      stdout: [],
      stderr: [
        refusedLine(
          'components.dapr.io "statestore"',
          'Forbidden',
          POLICY('component-plaintext-secrets'),
          `[component-plaintext-secrets] ${plaintextSecretMessage('statestore', 'redisPassword')}`,
        ),
      ],
    });
    assert.equal(result.stderr.includes(secret), false);
  });

  test('an invalid sidecar quantity is refused with the webhook message', async (t) => {
    if (!policies.servesValidating) return t.skip('no ValidatingAdmissionPolicy');
    const result = await kubectl.create(
      deployment('orders', APP_NAMESPACE, daprApp('orders', { 'dapr.io/sidecar-memory-limit': '4 GB' })),
    );
    assert.deepEqual(seen(result), {
      code: 1,
      stdout: [],
      stderr: [
        refusedLine(
          'deployments.apps "orders"',
          'Forbidden',
          POLICY('sidecar-resource-values'),
          '[sidecar-resource-values] dapr.io/sidecar-memory-limit "4 GB" is not a Kubernetes quantity — use a value such as "512Mi" or "1Gi"; Dapr ignores all four sidecar resource annotations when one is invalid',
        ),
      ],
    });
  });

  test('in a namespace labelled dapr-guard.io/mode=warn the same Component is a warning', async (t) => {
    if (!policies.servesValidating) return t.skip('no ValidatingAdmissionPolicy');
    const result = await kubectl.create(
      component('statestore', WARN_NAMESPACE, 'state.redis', [{ name: 'redisPassword', value: 'x' }]),
      ['--dry-run=server', '-o', 'name'],
    );
    assert.deepEqual(seen(result), {
      code: 0,
      stdout: ['component.dapr.io/statestore'],
      stderr: [
        `Warning: Validation failed for ValidatingAdmissionPolicy '${POLICY('component-plaintext-secrets')}' with binding '${POLICY('component-plaintext-secrets')}-ns-warn': [component-plaintext-secrets] ${plaintextSecretMessage('statestore', 'redisPassword')}`,
      ],
    });
  });

  test('a Dapr Pod and a Deployment template get the missing sidecar annotations, a user value kept', async (t) => {
    if (!policies.servesMutating) return t.skip('the API server serves no MutatingAdmissionPolicy (Kubernetes 1.36+)');
    const stored = await kubectl.create(
      pod('payments', APP_NAMESPACE, daprApp('payments', { 'dapr.io/sidecar-cpu-limit': '50m' })),
      ['-o', 'json'],
    );
    assert.equal(stored.code, 0, stored.stderr);
    assert.deepEqual((JSON.parse(stored.stdout) as KubeObject).metadata?.annotations, {
      ...daprApp('payments'),
      ...PRODUCTION_SIDECAR_ANNOTATIONS,
      // a request may not exceed the user's limit: the default request follows it
      'dapr.io/sidecar-cpu-limit': '50m',
      'dapr.io/sidecar-cpu-request': '50m',
    });
    const template = await kubectl.create(deployment('checkout', APP_NAMESPACE, daprApp('checkout')), [
      '--dry-run=server',
      '-o',
      'json',
    ]);
    assert.equal(template.code, 0, template.stderr);
    assert.deepEqual(podTemplateAnnotations(JSON.parse(template.stdout) as KubeObject), {
      ...daprApp('checkout'),
      ...PRODUCTION_SIDECAR_ANNOTATIONS,
    });
  });

  test(
    'parity with the webhook over the recorded reviews, the Dapr renderings and the corpus',
    { timeout: 300_000 },
    async (t) => {
      if (!policies.servesValidating || !policies.servesMutating)
        return t.skip('needs both ValidatingAdmissionPolicy and MutatingAdmissionPolicy (Kubernetes 1.36+)');
      const clusterKinds = await clusterScopedKinds(kubectl);
      const objects = parityObjects();
      assert.ok(objects.length > 500, `only ${objects.length} objects`);
      const outcomes = await mapLimit(objects, 4, (subject) => compare(subject, clusterKinds));
      const differences = outcomes.filter((outcome) => outcome.difference !== undefined);
      const compared = outcomes.filter((outcome) => outcome.compared);
      const webhookOnly = outcomes.filter((outcome) => outcome.webhookOnly.length > 0);
      t.diagnostic(
        `${objects.length} objects, ${compared.length} compared (the others refused by the API server itself: ${describeRefusals(outcomes)}), ` +
          `${compared.filter((outcome) => outcome.native.denied).length} denied, ${webhookOnly.length} with webhook-only findings`,
      );
      assert.deepEqual(
        differences
          .filter((outcome) => !KNOWN_DIFFERENCES.has(outcome.source))
          .map((outcome) => `${outcome.source}: ${outcome.difference ?? ''}`),
        [],
      );
      // The listed ones still differ (else the list and the README are stale).
      assert.deepEqual(
        differences.map((outcome) => outcome.source).filter((source) => KNOWN_DIFFERENCES.has(source)),
        [...KNOWN_DIFFERENCES.keys()],
      );
      assert.ok(compared.length > 300, `only ${compared.length} objects compared`);
    },
  );
});

function seen(result: CommandResult): { code: number; stdout: string[]; stderr: string[] } {
  return { code: result.code, stdout: lines(result.stdout), stderr: lines(result.stderr) };
}

// ---- parity --------------------------------------------------------------------------------------

interface Subject {
  /** `corpus/<file>#2`, for the report. */
  readonly source: string;
  readonly object: KubeObject;
}

function parityObjects(): Subject[] {
  const reviews = fixtureFiles('reviews', '.json').map((file): Subject => {
    const review = jsonFixture<{ request: { object: KubeObject; namespace?: string } }>(file);
    const object = review.request.object;
    const namespace = review.request.namespace;
    return {
      source: file,
      object: namespace === undefined ? object : { ...object, metadata: { ...object.metadata, namespace } },
    };
  });
  const fromYaml = (directory: string): Subject[] =>
    fixtureFiles(directory, '.yaml').flatMap((file) =>
      yamlObjects(file).map((object, index) => ({ source: `${file}#${index + 1}`, object })),
    );
  return [...reviews, ...fromYaml('dapr-manifests/rendered'), ...fromYaml('dapr-corpus'), ...edgeCases()];
}

/** Edges of the grammars and heuristics the corpus does not reach. */
function edgeCases(): Subject[] {
  const quantities = ['.', '+', '1e3', '-1', '4 GB', '0.5', '1.5Gi', 'x'.repeat(70), '"4"', 'a\\b', 'é'];
  const pods = quantities.map((value, index): Subject => ({
    source: `edge: dapr.io/sidecar-cpu-limit ${JSON.stringify(value)}`,
    object: pod(`edge-${index}`, APP_NAMESPACE, daprApp('edge', { 'dapr.io/sidecar-cpu-limit': value })),
  }));
  const pairs: Subject[] = [
    ['2', '1', '100m', '4'],
    ['100m', '4', '1Gi', '512Mi'],
    ['', '', '', ''],
    ['5', '', '', '100Mi'],
  ].map(([cpuRequest = '', cpuLimit = '', memoryRequest = '', memoryLimit = ''], index) => ({
    source: `edge: sidecar pair ${index}`,
    object: deployment(
      `edge-pair-${index}`,
      APP_NAMESPACE,
      daprApp('edge', {
        'dapr.io/enabled': index === 1 ? 'TRUE' : 'true',
        ...(cpuRequest === '' ? {} : { 'dapr.io/sidecar-cpu-request': cpuRequest }),
        ...(cpuLimit === '' ? {} : { 'dapr.io/sidecar-cpu-limit': cpuLimit }),
        ...(memoryRequest === '' ? {} : { 'dapr.io/sidecar-memory-request': memoryRequest }),
        ...(memoryLimit === '' ? {} : { 'dapr.io/sidecar-memory-limit': memoryLimit }),
      }),
    ),
  }));
  const metadata: { name: string; value: string }[][] = [
    [{ name: 'redisHost', value: 'redis://user:pa55@redis:6379' }],
    [{ name: 'endpoint', value: 'Server=db;User Id=app;Password=pa55;' }],
    [{ name: 'header:Authorization', value: 'Bearer abc' }],
    [{ name: 'apiKey', value: '' }],
    [
      { name: 'keyPrefix', value: 'name' },
      { name: 'tokenURL', value: 'https://x' },
      { name: 'publicKey', value: 'k' },
    ],
    [{ name: 'a'.repeat(70) + 'Password', value: 'x' }],
    [{ name: 'connectionString', value: 'file:data.db' }],
  ];
  const components = metadata.map((items, index): Subject => ({
    source: `edge: Component metadata ${index}`,
    object: component(`edge-${index}`, APP_NAMESPACE, index === 6 ? 'state.sqlite' : 'state.redis', items),
  }));
  return [...pods, ...pairs, ...components];
}

/** Kinds the API server has no namespace for (`kubectl api-resources --namespaced=false`). */
async function clusterScopedKinds(client: Kubectl): Promise<ReadonlySet<string>> {
  const result = await client.ok(['api-resources', '--namespaced=false', '--no-headers']);
  return new Set(
    result.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.trim().split(/\s+/).at(-1) ?? ''),
  );
}

/** The object as the test creates it: in `default` when it says so, in the app namespace otherwise. */
function placed(object: KubeObject, clusterKinds: ReadonlySet<string>): KubeObject {
  const metadata = { ...(object.metadata ?? {}) };
  if (clusterKinds.has(object.kind ?? '')) delete metadata.namespace;
  else metadata.namespace = metadata.namespace === 'default' ? 'default' : APP_NAMESPACE;
  return { ...object, metadata };
}

interface Decision {
  readonly denied: boolean;
  /** The denial's message (`[rule] …`): the native policy's, or all of the webhook's. */
  readonly messages: readonly string[];
  /** Rule ids with a warning, sorted. */
  readonly warned: readonly string[];
  /** The pod (template) annotations of the admitted object, for kinds that create Pods. */
  readonly annotations?: Readonly<Record<string, unknown>>;
}

interface Outcome {
  readonly source: string;
  readonly compared: boolean;
  readonly native: Decision;
  /** The webhook's findings that no native policy has (see the README). */
  readonly webhookOnly: readonly string[];
  readonly difference?: string;
  /** Why the API server refused an object that is not compared (kubectl's reason: Invalid, AlreadyExists…). */
  readonly refusal?: string;
}

const NONE: Decision = { denied: false, messages: [], warned: [] };

async function compare(subject: Subject, clusterKinds: ReadonlySet<string>): Promise<Outcome> {
  const object = placed(subject.object, clusterKinds);
  const result = await kubectl.create(object, ['--dry-run=server', '-o', 'json']);
  const native = nativeDecision(result);
  if (native === undefined)
    return { source: subject.source, compared: false, native: NONE, webhookOnly: [], refusal: refusalOf(result) };
  const webhook = webhookDecision(object);
  const difference = describeDifference(webhook.decision, native);
  return {
    source: subject.source,
    compared: true,
    native,
    webhookOnly: webhook.webhookOnly,
    ...(difference === undefined ? {} : { difference }),
  };
}

const POLICY_DENIAL = /ValidatingAdmissionPolicy '([^']+)' with binding '[^']+' denied request: (.*)$/;
const POLICY_WARNING = /^Warning: Validation failed for ValidatingAdmissionPolicy '([^']+)' with binding '[^']+': /;

/** What the native policies decided, or undefined when the API server refused the object for other reasons. */
function nativeDecision(result: CommandResult): Decision | undefined {
  const stderr = lines(result.stderr);
  const warned = [...new Set(stderr.flatMap((line) => POLICY_WARNING.exec(line)?.[1] ?? []).map(ruleOfPolicy))].sort();
  if (result.code !== 0) {
    const denial = stderr.map((line) => POLICY_DENIAL.exec(line)).find((match) => match !== null);
    return denial === undefined || denial === null ? undefined : { denied: true, messages: [denial[2] ?? ''], warned };
  }
  const stored = JSON.parse(result.stdout) as KubeObject;
  const annotations = podAnnotationsOf(stored);
  return { denied: false, messages: [], warned, ...(annotations === undefined ? {} : { annotations }) };
}

/** `AlreadyExists` from `Error from server (AlreadyExists): …`, `Invalid` from `The Deployment "x" is invalid: …`. */
function refusalOf(result: CommandResult): string {
  const line = lines(result.stderr).find((candidate) => !candidate.startsWith('Warning:')) ?? '';
  const reason = /^Error from server \(([A-Za-z]+)\)/.exec(line)?.[1];
  if (reason !== undefined) return reason;
  return line.includes(' is invalid: ') ? 'Invalid' : line.split(' ').slice(0, 4).join(' ');
}

/**
 * How many objects the API server refused itself, by reason (AlreadyExists: cluster-scoped objects
 * that an earlier file, such as the Dapr control plane's, left in the cluster).
 */
function describeRefusals(outcomes: readonly Outcome[]): string {
  const counts = new Map<string, number>();
  for (const outcome of outcomes)
    if (outcome.refusal !== undefined) counts.set(outcome.refusal, (counts.get(outcome.refusal) ?? 0) + 1);
  return JSON.stringify(Object.fromEntries(counts));
}

/** `dapr-guard-native-component-empty-secrets` → component-plaintext-secrets. */
function ruleOfPolicy(policy: string): string {
  const suffix = policy.slice(POLICY('').length);
  if (suffix === 'component-empty-secrets') return 'component-plaintext-secrets';
  if (suffix === 'control-plane-namespace-existing') return 'control-plane-namespace';
  return suffix;
}

/**
 * The webhook's findings with no native counterpart (README, "Native admission policies"): credentials
 * in a field's name, the summary of findings beyond the listed ones, and HTTPEndpoint and Configuration
 * headers and URLs.
 */
function isWebhookOnly(violation: Violation, object: KubeObject): boolean {
  if (violation.ruleId !== 'component-plaintext-secrets') return false;
  if (object.kind !== 'Component') return true;
  return /has credentials in its name|more plaintext secrets or credentials/.test(violation.message);
}

function webhookDecision(object: KubeObject): { decision: Decision; webhookOnly: string[] } {
  const review = reviewObject(object, { userInfo: ADMIN }, WEBHOOK_POLICY);
  if (!review.ok) return { decision: NONE, webhookOnly: [] };
  const kept = review.violations.filter((violation) => !isWebhookOnly(violation, object));
  const webhookOnly = review.violations
    .filter((violation) => isWebhookOnly(violation, object))
    .map((violation) => violation.message);
  const enforced = kept.filter((violation) => violation.mode === 'enforce');
  const warned = [
    ...new Set(kept.filter((violation) => violation.mode === 'warn').map((violation) => violation.ruleId)),
  ].sort();
  const annotations = podAnnotationsOf(review.mutated);
  const decision: Decision =
    enforced.length > 0
      ? { denied: true, messages: enforced.map((violation) => `[${violation.ruleId}] ${violation.message}`), warned }
      : { denied: false, messages: [], warned, ...(annotations === undefined ? {} : { annotations }) };
  return { decision, webhookOnly };
}

function describeDifference(webhook: Decision, native: Decision): string | undefined {
  if (webhook.denied !== native.denied)
    return `webhook ${webhook.denied ? `denies (${webhook.messages.join(' | ')})` : 'allows'}, native policies ${native.denied ? `deny (${native.messages.join(' | ')})` : 'allow'}`;
  if (native.denied) {
    const message = native.messages[0] ?? '';
    return webhook.messages.includes(message)
      ? undefined
      : `denial message "${message}" is not one of the webhook's: ${webhook.messages.join(' | ')}`;
  }
  if (JSON.stringify(webhook.warned) !== JSON.stringify(native.warned))
    return `warnings: webhook ${JSON.stringify(webhook.warned)}, native ${JSON.stringify(native.warned)}`;
  if (JSON.stringify(sorted(webhook.annotations)) !== JSON.stringify(sorted(native.annotations)))
    return `annotations: webhook ${JSON.stringify(sorted(webhook.annotations))}, native ${JSON.stringify(sorted(native.annotations))}`;
  return undefined;
}

function sorted(record: Readonly<Record<string, unknown>> | undefined): [string, unknown][] | undefined {
  return record === undefined ? undefined : Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}

function podAnnotationsOf(object: KubeObject): Readonly<Record<string, unknown>> | undefined {
  const known = kindResourceOf(object.kind ?? '');
  if (known === undefined) return undefined;
  const path = podMetadataPath(known.kind);
  if (path === undefined) return undefined;
  let current: unknown = object;
  for (const key of [...path, 'annotations']) {
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[key] : undefined;
  }
  return typeof current === 'object' && current !== null ? (current as Record<string, unknown>) : {};
}

/** `work` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
