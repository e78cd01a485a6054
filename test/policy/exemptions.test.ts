import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AdmissionRequest, KubeObject, Operation, UserInfo } from '../../src/admission/wire.ts';
import { decide } from '../../src/policy/decide.ts';
import { evaluate, type Policy } from '../../src/policy/evaluate.ts';
import type { ExemptionSettings } from '../../src/policy/exemption-access.ts';
import type { Mode } from '../../src/admission/mode.ts';
import type { ValidatingRule } from '../../src/rules/rule.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';

const ADMIN: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
const TENANT: UserInfo = { username: 'alice', groups: ['team-a', 'system:authenticated'] };
const PLATFORM: UserInfo = { username: 'bob', groups: ['platform-operators', 'system:authenticated'] };
const NO_GROUPS: UserInfo = { username: 'carol' };
const REPLICASET_CONTROLLER: UserInfo = {
  username: 'system:serviceaccount:kube-system:replicaset-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};
const CONTROLLER_MANAGER: UserInfo = { username: 'system:kube-controller-manager', groups: ['system:authenticated'] };
/** The same name, but a service account of a tenant namespace. */
const LOOKALIKE_CONTROLLER: UserInfo = {
  username: 'system:serviceaccount:team-a:replicaset-controller',
  groups: ['system:serviceaccounts', 'system:authenticated'],
};

const OWNED_BY_REPLICASET = [
  {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    name: 'web-5d8f',
    uid: 'b1',
    controller: true,
    blockOwnerDeletion: true,
  },
];
const REFERENCED_ONLY = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: 'b1' }];

const NOT_ALLOWED =
  '[exemptions] dapr-guard.io/exempt is ignored: it was added or changed by a user outside exemptions.allowedGroups, so the rules apply — ask a cluster operator to set it';

/** A validating rule that finds one thing in every object labelled `bad: "true"`. */
const labelRule: ValidatingRule = {
  id: 'a',
  type: 'validating',
  description: 'test rule',
  defaultMode: 'enforce',
  kinds: ['Pod', 'Deployment', 'Component'],
  validate: (context) =>
    context.object.metadata?.labels?.['bad'] === 'true' ? [{ message: 'bad — remove the label' }] : [],
};

const exempt = (ids: string, reason: string): Record<string, string> => ({
  'dapr-guard.io/exempt': ids,
  'dapr-guard.io/exempt-reason': reason,
});
const LEGACY = exempt('a', 'legacy');

function badPod(annotations: Record<string, string> | undefined, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'team-a',
      labels: { bad: 'true' },
      ...(annotations === undefined ? {} : { annotations }),
      ...extra,
    },
  };
}

function settings(overrides: Partial<ExemptionSettings> = {}): ExemptionSettings {
  return { enabled: true, allowedGroups: ['system:masters'], namespaces: [], ...overrides };
}

interface RequestSpec {
  readonly user: UserInfo;
  readonly operation?: Operation;
  readonly object: KubeObject;
  readonly oldObject?: KubeObject;
}

function request(spec: RequestSpec): AdmissionRequest {
  const operation = spec.operation ?? 'CREATE';
  const base = admissionRequest(spec.object, {
    operation,
    ...(spec.oldObject === undefined ? {} : { oldObject: spec.oldObject }),
  });
  return { ...base, userInfo: spec.user };
}

interface ObjectCase extends RequestSpec {
  readonly name: string;
  readonly exemptions?: ExemptionSettings;
  /** Whether rule a is exempted (else it applies and the notice says why). */
  readonly exempted: boolean;
  /** The reason recorded for the exemption; default legacy. */
  readonly reason?: string;
  readonly notices?: readonly string[];
}

describe('an exemption on the object counts only when an allowed user set it', () => {
  const cases: readonly ObjectCase[] = [
    { name: 'CREATE by system:masters', user: ADMIN, object: badPod(LEGACY), exempted: true },
    { name: 'CREATE by a tenant', user: TENANT, object: badPod(LEGACY), exempted: false, notices: [NOT_ALLOWED] },
    {
      name: 'CREATE by a user without groups',
      user: NO_GROUPS,
      object: badPod(LEGACY),
      exempted: false,
      notices: [NOT_ALLOWED],
    },
    {
      name: 'UPDATE by a tenant carrying the stored exemption unchanged',
      user: TENANT,
      operation: 'UPDATE',
      object: badPod(LEGACY),
      oldObject: badPod(LEGACY),
      exempted: true,
    },
    {
      name: 'UPDATE by a tenant adding an exemption',
      user: TENANT,
      operation: 'UPDATE',
      object: badPod(LEGACY),
      oldObject: badPod(undefined),
      exempted: false,
      notices: [NOT_ALLOWED],
    },
    {
      name: 'UPDATE by a tenant changing the reason',
      user: TENANT,
      operation: 'UPDATE',
      object: badPod(exempt('a', 'still legacy')),
      oldObject: badPod(LEGACY),
      exempted: false,
      notices: [NOT_ALLOWED],
    },
    {
      name: 'UPDATE by a tenant widening the rule list',
      user: TENANT,
      operation: 'UPDATE',
      object: badPod(exempt('a,b', 'legacy')),
      oldObject: badPod(exempt('b', 'legacy')),
      exempted: false,
      notices: [NOT_ALLOWED],
    },
    {
      name: 'UPDATE by system:masters changing it',
      user: ADMIN,
      operation: 'UPDATE',
      object: badPod(exempt('a', 'new reason')),
      oldObject: badPod(LEGACY),
      exempted: true,
      reason: 'new reason',
    },
    {
      name: 'CREATE by the replicaset controller of a Pod it owns',
      user: REPLICASET_CONTROLLER,
      object: badPod(LEGACY, { ownerReferences: OWNED_BY_REPLICASET }),
      exempted: true,
    },
    {
      name: 'CREATE by the controller manager user of a Pod it owns',
      user: CONTROLLER_MANAGER,
      object: badPod(LEGACY, { ownerReferences: OWNED_BY_REPLICASET }),
      exempted: true,
    },
    {
      name: 'CREATE by the replicaset controller without a controller owner',
      user: REPLICASET_CONTROLLER,
      object: badPod(LEGACY, { ownerReferences: REFERENCED_ONLY }),
      exempted: false,
      notices: [NOT_ALLOWED],
    },
    {
      name: 'CREATE by a tenant with a forged controller owner',
      user: TENANT,
      object: badPod(LEGACY, { ownerReferences: OWNED_BY_REPLICASET }),
      exempted: false,
      notices: [NOT_ALLOWED],
    },
    {
      name: 'CREATE by a tenant service account named like a controller',
      user: LOOKALIKE_CONTROLLER,
      object: badPod(LEGACY, { ownerReferences: OWNED_BY_REPLICASET }),
      exempted: false,
      notices: [NOT_ALLOWED],
    },
    {
      name: 'CREATE by a member of a configured group',
      user: PLATFORM,
      object: badPod(LEGACY),
      exemptions: settings({ allowedGroups: ['platform-operators'] }),
      exempted: true,
    },
    {
      name: 'CREATE by system:masters when only another group is allowed',
      user: ADMIN,
      object: badPod(LEGACY),
      exemptions: settings({ allowedGroups: ['platform-operators'] }),
      exempted: false,
      notices: [NOT_ALLOWED],
    },
    {
      name: 'CREATE by system:masters in an allowed namespace',
      user: ADMIN,
      object: badPod(LEGACY),
      exemptions: settings({ namespaces: ['team-a'] }),
      exempted: true,
    },
    {
      name: 'CREATE by system:masters outside exemptions.namespaces',
      user: ADMIN,
      object: badPod(LEGACY),
      exemptions: settings({ namespaces: ['legacy-apps'] }),
      exempted: false,
      notices: [
        '[exemptions] dapr-guard.io/exempt is ignored: exemptions do not count in namespace team-a (exemptions.namespaces), so the rules apply',
      ],
    },
    {
      name: 'UPDATE carrying an old exemption outside exemptions.namespaces',
      user: TENANT,
      operation: 'UPDATE',
      object: badPod(LEGACY),
      oldObject: badPod(LEGACY),
      exemptions: settings({ namespaces: ['legacy-apps'] }),
      exempted: false,
      notices: [
        '[exemptions] dapr-guard.io/exempt is ignored: exemptions do not count in namespace team-a (exemptions.namespaces), so the rules apply',
      ],
    },
  ];
  assert.equal(cases.length, 18);
  for (const testCase of cases) {
    test(testCase.name, () => {
      const policy = testPolicy([labelRule], { exemptions: testCase.exemptions ?? settings() });
      const evaluation = evaluate(request(testCase), policy, 'validate');
      assert.deepEqual(
        evaluation.violations,
        testCase.exempted ? [] : [{ ruleId: 'a', message: 'bad — remove the label', mode: 'enforce' }],
      );
      assert.deepEqual(
        evaluation.exemptions,
        testCase.exempted ? [{ ruleId: 'a', reason: testCase.reason ?? 'legacy' }] : [],
      );
      assert.deepEqual(evaluation.notices, testCase.notices ?? []);
    });
  }

  test('the user reads the denial and why the exemption did not count', () => {
    const evaluation = evaluate(request({ user: TENANT, object: badPod(LEGACY) }), testPolicy([labelRule]), 'validate');
    assert.deepEqual(decide('u1', evaluation), {
      uid: 'u1',
      allowed: false,
      status: {
        metadata: {},
        status: 'Failure',
        code: 403,
        reason: 'Forbidden',
        message: '[a] bad — remove the label',
      },
      warnings: [NOT_ALLOWED],
    });
  });

  test('an unknown rule id is quoted on one line, never with the control characters it carries', () => {
    const object = badPod(exempt('a,bogus\n[mtls-enabled] forged', 'legacy'));
    const evaluation = evaluate(request({ user: ADMIN, object }), testPolicy([labelRule]), 'validate');
    assert.deepEqual(evaluation.notices, [
      '[exemptions] dapr-guard.io/exempt names unknown rule "bogus\\n[mtls-enabled] forged"; it has no effect',
    ]);
  });
});

interface TemplateCase extends RequestSpec {
  readonly name: string;
  readonly exemptions?: ExemptionSettings;
  readonly namespaceModes?: Record<string, Mode>;
  readonly expected: readonly { readonly message: string; readonly mode: Mode }[];
}

const DEPLOYMENT_FINDING =
  'spec.template sets dapr-guard.io/exempt, which only a cluster operator (exemptions.allowedGroups) may add or change — remove it from the template, or ask a cluster operator to set it';
const CRONJOB_FINDING =
  'spec.jobTemplate.spec.template sets dapr-guard.io/exempt, which only a cluster operator (exemptions.allowedGroups) may add or change — remove it from the template, or ask a cluster operator to set it';

function deployment(
  templateAnnotations: Record<string, string>,
  kind: 'Deployment' | 'ReplicaSet' = 'Deployment',
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: 'web', namespace: 'team-a', ...extra },
    spec: {
      template: {
        metadata: { annotations: { 'dapr.io/enabled': 'true', ...templateAnnotations } },
        spec: { containers: [] },
      },
    },
  };
}

function cronJob(templateAnnotations: Record<string, string>): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'nightly', namespace: 'team-a' },
    spec: {
      jobTemplate: { spec: { template: { metadata: { annotations: templateAnnotations }, spec: { containers: [] } } } },
    },
  };
}

describe('a pod template exemption (copied by controllers into the Pods they create) needs an allowed user too', () => {
  const cases: readonly TemplateCase[] = [
    {
      name: 'a tenant adds one to a Deployment',
      user: TENANT,
      object: deployment(LEGACY),
      expected: [{ message: DEPLOYMENT_FINDING, mode: 'enforce' }],
    },
    {
      name: 'a tenant adds one to a CronJob',
      user: TENANT,
      object: cronJob(LEGACY),
      expected: [{ message: CRONJOB_FINDING, mode: 'enforce' }],
    },
    { name: 'system:masters adds one', user: ADMIN, object: deployment(LEGACY), expected: [] },
    {
      name: 'a tenant updates a Deployment keeping the stored one',
      user: TENANT,
      operation: 'UPDATE',
      object: deployment(LEGACY),
      oldObject: deployment(LEGACY),
      expected: [],
    },
    {
      name: 'a tenant changes the stored one',
      user: TENANT,
      operation: 'UPDATE',
      object: deployment(exempt('a', 'x')),
      oldObject: deployment(LEGACY),
      expected: [{ message: DEPLOYMENT_FINDING, mode: 'enforce' }],
    },
    {
      name: 'the deployment controller creates a ReplicaSet it owns',
      user: REPLICASET_CONTROLLER,
      object: deployment(LEGACY, 'ReplicaSet', { ownerReferences: OWNED_BY_REPLICASET }),
      expected: [],
    },
    { name: 'a tenant template without an exemption', user: TENANT, object: deployment({}), expected: [] },
    {
      name: 'exemptions turned off: nothing would count, nothing to refuse',
      user: TENANT,
      object: deployment(LEGACY),
      exemptions: settings({ enabled: false }),
      expected: [],
    },
    {
      name: 'outside exemptions.namespaces: nothing would count',
      user: TENANT,
      object: deployment(LEGACY),
      exemptions: settings({ namespaces: ['legacy-apps'] }),
      expected: [],
    },
    {
      name: 'in a namespace in audit mode',
      user: TENANT,
      object: deployment(LEGACY),
      namespaceModes: { 'team-a': 'audit' },
      expected: [{ message: DEPLOYMENT_FINDING, mode: 'audit' }],
    },
  ];
  assert.equal(cases.length, 10);
  for (const testCase of cases) {
    test(testCase.name, () => {
      const policy = testPolicy([], {
        exemptions: testCase.exemptions ?? settings(),
        ...(testCase.namespaceModes === undefined ? {} : { namespaceModes: testCase.namespaceModes }),
      });
      const evaluation = evaluate(request(testCase), policy, 'validate');
      assert.deepEqual(
        evaluation.violations,
        testCase.expected.map((finding) => ({ ruleId: 'exemptions', ...finding })),
      );
      assert.deepEqual(evaluate(request(testCase), policy, 'mutate').violations, [], '/mutate never refuses');
    });
  }
});

function namespace(labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a', ...labels } },
  };
}

const guardMessage = (change: string, label: string): string =>
  `${change} the ${label} label of a Namespace is reserved to cluster operators (exemptions.allowedGroups) — undo the change, or ask a cluster operator to make it`;

interface NamespaceCase {
  readonly name: string;
  readonly user: UserInfo;
  readonly operation: Operation;
  readonly before?: Record<string, string>;
  readonly after: Record<string, string>;
  readonly messages: readonly string[];
}

describe('the dapr-guard.io/ignore and dapr-guard.io/mode namespace labels are reserved to exemptions.allowedGroups', () => {
  const cases: readonly NamespaceCase[] = [
    {
      name: 'a tenant creates a namespace with dapr-guard.io/ignore',
      user: TENANT,
      operation: 'CREATE',
      after: { 'dapr-guard.io/ignore': 'true' },
      messages: [guardMessage('adding', 'dapr-guard.io/ignore')],
    },
    {
      name: 'a tenant labels a namespace dapr-guard.io/mode=audit',
      user: TENANT,
      operation: 'UPDATE',
      before: {},
      after: { 'dapr-guard.io/mode': 'audit' },
      messages: [guardMessage('adding', 'dapr-guard.io/mode')],
    },
    {
      name: 'a tenant changes the mode',
      user: TENANT,
      operation: 'UPDATE',
      before: { 'dapr-guard.io/mode': 'enforce' },
      after: { 'dapr-guard.io/mode': 'warn' },
      messages: [guardMessage('changing', 'dapr-guard.io/mode')],
    },
    {
      name: 'a tenant removes dapr-guard.io/ignore',
      user: TENANT,
      operation: 'UPDATE',
      before: { 'dapr-guard.io/ignore': '' },
      after: {},
      messages: [guardMessage('removing', 'dapr-guard.io/ignore')],
    },
    {
      name: 'a tenant sets both at once',
      user: TENANT,
      operation: 'UPDATE',
      before: {},
      after: { 'dapr-guard.io/ignore': 'please', 'dapr-guard.io/mode': 'audit' },
      messages: [guardMessage('adding', 'dapr-guard.io/ignore'), guardMessage('adding', 'dapr-guard.io/mode')],
    },
    {
      name: 'a tenant changes another label and keeps the mode',
      user: TENANT,
      operation: 'UPDATE',
      before: { 'dapr-guard.io/mode': 'warn' },
      after: { 'dapr-guard.io/mode': 'warn', team: 'a' },
      messages: [],
    },
    {
      name: 'a tenant creates a plain namespace',
      user: TENANT,
      operation: 'CREATE',
      after: { team: 'a' },
      messages: [],
    },
    {
      name: 'system:masters labels a namespace',
      user: ADMIN,
      operation: 'UPDATE',
      before: {},
      after: { 'dapr-guard.io/ignore': 'true', 'dapr-guard.io/mode': 'audit' },
      messages: [],
    },
  ];
  assert.equal(cases.length, 8);
  for (const testCase of cases) {
    test(testCase.name, () => {
      const spec = {
        user: testCase.user,
        operation: testCase.operation,
        object: namespace(testCase.after),
        ...(testCase.before === undefined ? {} : { oldObject: namespace(testCase.before) }),
      };
      const evaluation = evaluate(request(spec), testPolicy([labelRule]), 'validate');
      assert.deepEqual(
        evaluation.violations,
        testCase.messages.map((message) => ({ ruleId: 'namespace-labels', message, mode: 'enforce' })),
      );
    });
  }

  test('the tenant reads a denial naming the label and who may change it', () => {
    const spec = {
      user: TENANT,
      operation: 'UPDATE' as const,
      object: namespace({ 'dapr-guard.io/ignore': 'please' }),
      oldObject: namespace({}),
    };
    const response = decide('u2', evaluate(request(spec), testPolicy([]), 'validate'));
    assert.deepEqual(response, {
      uid: 'u2',
      allowed: false,
      status: {
        metadata: {},
        status: 'Failure',
        code: 403,
        reason: 'Forbidden',
        message: `[namespace-labels] ${guardMessage('adding', 'dapr-guard.io/ignore')}`,
      },
    });
  });

  test('the guard follows the global mode, not the namespace label it guards', () => {
    const spec = {
      user: TENANT,
      operation: 'UPDATE' as const,
      object: namespace({ 'dapr-guard.io/mode': 'audit' }),
      oldObject: namespace({ 'dapr-guard.io/mode': 'enforce' }),
    };
    const policy = testPolicy([], { globalMode: 'warn', namespaceModes: { 'team-a': 'audit' } });
    const response = decide('u3', evaluate(request(spec), policy, 'validate'));
    assert.deepEqual(response, {
      uid: 'u3',
      allowed: true,
      warnings: [`[namespace-labels] ${guardMessage('changing', 'dapr-guard.io/mode')}`],
    });
  });

  test('/mutate and the configured groups', () => {
    const spec = {
      user: PLATFORM,
      operation: 'CREATE' as const,
      object: namespace({ 'dapr-guard.io/ignore': 'true' }),
    };
    assert.deepEqual(evaluate(request(spec), testPolicy([]), 'mutate').violations, []);
    const platform: Policy = testPolicy([], { exemptions: settings({ allowedGroups: ['platform-operators'] }) });
    assert.deepEqual(evaluate(request(spec), platform, 'validate').violations, []);
  });
});
