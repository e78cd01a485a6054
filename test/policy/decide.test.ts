import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide } from '../../src/policy/decide.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import type { Evaluation, Violation } from '../../src/policy/evaluation.ts';

const UID = 'b5e8b1b5-0f7a-4e8c-9a3e-0d3f3c1c2a11';
const PATCH = [{ op: 'add' as const, path: '/metadata/annotations/dapr.io~1sidecar-cpu-limit', value: '4' }];

function evaluation(overrides: Partial<Evaluation>): Evaluation {
  return { scopeMode: 'enforce', violations: [], mutations: [], patch: [], exemptions: [], notices: [], ...overrides };
}

const plaintext: Violation = {
  ruleId: 'component-plaintext-secrets',
  message: 'Component redis: redisPassword is plaintext — use secretKeyRef',
  mode: 'enforce',
};
const mtls: Violation = {
  ruleId: 'mtls-enabled',
  message: 'mTLS is disabled — set spec.mtls.enabled: true',
  mode: 'enforce',
};

describe('decide: one violation set, three modes', () => {
  test('enforce denies with 403 Forbidden and every enforced message as [rule-id] message', () => {
    assert.deepEqual(decide(UID, evaluation({ violations: [plaintext, mtls] })), {
      uid: UID,
      allowed: false,
      status: {
        metadata: {},
        status: 'Failure',
        code: 403,
        reason: 'Forbidden',
        message:
          '[component-plaintext-secrets] Component redis: redisPassword is plaintext — use secretKeyRef\n[mtls-enabled] mTLS is disabled — set spec.mtls.enabled: true',
      },
    });
  });

  test('warn allows with one kubectl warning per violation and no audit annotation', () => {
    const warned = [plaintext, mtls].map((violation) => ({ ...violation, mode: 'warn' as const }));
    assert.deepEqual(decide(UID, evaluation({ scopeMode: 'warn', violations: warned })), {
      uid: UID,
      allowed: true,
      warnings: [
        '[component-plaintext-secrets] Component redis: redisPassword is plaintext — use secretKeyRef',
        '[mtls-enabled] mTLS is disabled — set spec.mtls.enabled: true',
      ],
    });
  });

  test('audit allows with no warning and no patch, recording what would have happened under bare rule-id keys', () => {
    const audited = [plaintext, mtls].map((violation) => ({ ...violation, mode: 'audit' as const }));
    const mutations = [
      {
        ruleId: 'sidecar-resources',
        mode: 'audit' as const,
        changes: ['dapr.io/sidecar-cpu-limit=4', 'dapr.io/sidecar-memory-limit=4000Mi'],
      },
    ];
    assert.deepEqual(decide(UID, evaluation({ scopeMode: 'audit', violations: audited, mutations })), {
      uid: UID,
      allowed: true,
      auditAnnotations: {
        'component-plaintext-secrets': 'Component redis: redisPassword is plaintext — use secretKeyRef',
        'mtls-enabled': 'mTLS is disabled — set spec.mtls.enabled: true',
        'sidecar-resources': 'would set dapr.io/sidecar-cpu-limit=4, dapr.io/sidecar-memory-limit=4000Mi',
      },
    });
  });

  test('a patch is returned base64-encoded with patchType only when there is one', () => {
    const response = decide(
      UID,
      evaluation({
        patch: PATCH,
        mutations: [{ ruleId: 'sidecar-resources', mode: 'enforce', changes: ['dapr.io/sidecar-cpu-limit=4'] }],
      }),
    );
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    assert.deepEqual(JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8')), PATCH);
    assert.deepEqual(decide(UID, evaluation({})), { uid: UID, allowed: true });
  });

  test('warn mode still patches and says in a warning what it added; enforce patches without one', () => {
    const changes = ['dapr.io/sidecar-cpu-limit=4', 'dapr.io/sidecar-memory-limit=4000Mi'];
    const warned = decide(
      UID,
      evaluation({
        scopeMode: 'warn',
        patch: PATCH,
        mutations: [{ ruleId: 'sidecar-resources', mode: 'warn', changes }],
      }),
    );
    assert.deepEqual(warned, {
      uid: UID,
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(PATCH)).toString('base64'),
      warnings: ['[sidecar-resources] added dapr.io/sidecar-cpu-limit=4, dapr.io/sidecar-memory-limit=4000Mi'],
    });
    const enforced = decide(
      UID,
      evaluation({ patch: PATCH, mutations: [{ ruleId: 'sidecar-resources', mode: 'enforce', changes }] }),
    );
    assert.equal(enforced.warnings, undefined);
  });

  test('mixed modes: enforced violations deny, warned ones still reach kubectl, audited ones the audit log', () => {
    const response = decide(
      UID,
      evaluation({
        violations: [
          plaintext,
          { ...mtls, mode: 'warn' },
          { ruleId: 'observability', message: 'metrics are off', mode: 'audit' },
        ],
      }),
    );
    assert.equal(response.allowed, false);
    assert.equal(
      response.status?.message,
      '[component-plaintext-secrets] Component redis: redisPassword is plaintext — use secretKeyRef',
    );
    assert.deepEqual(response.warnings, ['[mtls-enabled] mTLS is disabled — set spec.mtls.enabled: true']);
    assert.deepEqual(response.auditAnnotations, { observability: 'metrics are off' });
  });

  test('warnings longer than the API server keeps are cut to 256 characters', () => {
    const long: Violation = { ruleId: 'api-token', message: 'x'.repeat(400), mode: 'warn' };
    const [warning] = decide(UID, evaluation({ violations: [long] })).warnings ?? [];
    assert.equal(warning?.length, MAX_WARNING_LENGTH);
    assert.ok(warning?.startsWith('[api-token] xxx'));
    assert.ok(warning?.endsWith('…'));
  });

  test('notices become warnings and exemptions are recorded for the audit log', () => {
    const response = decide(
      UID,
      evaluation({
        notices: ['[exemptions] something'],
        exemptions: [{ ruleId: 'api-token', reason: 'batch job without Dapr API calls' }],
      }),
    );
    assert.deepEqual(response, {
      uid: UID,
      allowed: true,
      warnings: ['[exemptions] something'],
      auditAnnotations: { 'exempt.api-token': 'batch job without Dapr API calls' },
    });
  });

  test('audit annotation keys never contain "/" (the API server drops such keys)', () => {
    const response = decide(
      UID,
      evaluation({
        violations: [{ ...plaintext, mode: 'audit' }],
        exemptions: [{ ruleId: 'mtls-enabled', reason: 'r' }],
      }),
    );
    const keys = Object.keys(response.auditAnnotations ?? {});
    assert.deepEqual(keys, ['component-plaintext-secrets', 'exempt.mtls-enabled']);
    for (const key of keys) assert.match(key, /^[A-Z0-9][-\w.]{0,62}$/i);
  });
});
