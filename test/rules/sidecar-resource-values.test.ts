import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionRequest, KubeObject } from '../../src/admission/wire.ts';
import { formatMessage } from '../../src/policy/decide.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import type { Violation } from '../../src/policy/evaluation.ts';
import { SIDECAR_RESOURCE_VALUES_RULE_ID, sidecarResourceValuesRule } from '../../src/rules/sidecar-resource-values.ts';
import { fixtureFiles, jsonFixture, yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';
import { LINEAR_BOUND_MS, MIB, timed } from '../support/timing.ts';
import { WORKLOAD_CASES, workload } from '../support/workloads.ts';

function violations(request: AdmissionRequest): readonly Violation[] {
  return evaluate(request, testPolicy([sidecarResourceValuesRule()]), 'validate').violations;
}

function messagesFor(podAnnotations: Record<string, string>, kind = 'Deployment'): string[] {
  const found = violations(admissionRequest(workload(kind, { 'dapr.io/enabled': 'true', ...podAnnotations })));
  for (const violation of found) {
    assert.equal(violation.ruleId, SIDECAR_RESOURCE_VALUES_RULE_ID);
    assert.ok(
      formatMessage(violation).length <= MAX_WARNING_LENGTH,
      `too long for a warning: ${formatMessage(violation)}`,
    );
  }
  return found.map((violation) => violation.message);
}

const notQuantity = (annotation: string, value: string, example: string): string =>
  `${annotation} ${JSON.stringify(value)} is not a Kubernetes quantity — use a value such as ${example}; Dapr ignores all four sidecar resource annotations when one is invalid`;
const CPU_EXAMPLE = '"4" or "500m"';
const MEMORY_EXAMPLE = '"512Mi" or "1Gi"';

describe('sidecar-resource-values', () => {
  describe('accepts valid values', () => {
    const cases: ReadonlyArray<readonly [string, Record<string, string>]> = [
      ['none set', {}],
      [
        'the production defaults',
        {
          'dapr.io/sidecar-cpu-request': '100m',
          'dapr.io/sidecar-cpu-limit': '4',
          'dapr.io/sidecar-memory-request': '250Mi',
          'dapr.io/sidecar-memory-limit': '4000Mi',
        },
      ],
      [
        'the docs example',
        {
          'dapr.io/sidecar-cpu-request': '100m',
          'dapr.io/sidecar-cpu-limit': '300m',
          'dapr.io/sidecar-memory-request': '250Mi',
          'dapr.io/sidecar-memory-limit': '1000Mi',
        },
      ],
      [
        'request equal to limit in other units',
        {
          'dapr.io/sidecar-cpu-request': '0.5',
          'dapr.io/sidecar-cpu-limit': '500m',
          'dapr.io/sidecar-memory-request': '1.5Gi',
          'dapr.io/sidecar-memory-limit': '1536Mi',
        },
      ],
      [
        'fractions with binary and decimal suffixes',
        { 'dapr.io/sidecar-memory-limit': '1.5Gi', 'dapr.io/sidecar-cpu-limit': '1.5k' },
      ],
      ['exponents', { 'dapr.io/sidecar-cpu-request': '1e-1', 'dapr.io/sidecar-cpu-limit': '1E0' }],
      ['only a request', { 'dapr.io/sidecar-cpu-request': '8' }],
      ['only a limit', { 'dapr.io/sidecar-memory-limit': '64Mi' }],
      ['zero', { 'dapr.io/sidecar-cpu-request': '0', 'dapr.io/sidecar-cpu-limit': '0' }],
      // Dapr skips an empty value; sidecar-resources keeps it as the user's choice.
      ['empty strings', { 'dapr.io/sidecar-cpu-request': '', 'dapr.io/sidecar-memory-limit': '' }],
      ['a huge request with an empty limit', { 'dapr.io/sidecar-cpu-request': '64', 'dapr.io/sidecar-cpu-limit': '' }],
    ];
    for (const [name, annotations] of cases) {
      it(name, () => assert.deepEqual(messagesFor(annotations), []));
    }
  });

  describe('refuses values that are not Kubernetes quantities', () => {
    const cases: ReadonlyArray<readonly [string, string, string]> = [
      ['dapr.io/sidecar-cpu-limit', '4 cores', CPU_EXAMPLE],
      ['dapr.io/sidecar-cpu-limit', ' 4', CPU_EXAMPLE],
      ['dapr.io/sidecar-cpu-request', '100 m', CPU_EXAMPLE],
      ['dapr.io/sidecar-cpu-request', '0x10', CPU_EXAMPLE],
      ['dapr.io/sidecar-cpu-limit', 'Infinity', CPU_EXAMPLE],
      ['dapr.io/sidecar-memory-request', '250MB', MEMORY_EXAMPLE],
      ['dapr.io/sidecar-memory-request', '1K', MEMORY_EXAMPLE],
      ['dapr.io/sidecar-memory-limit', '1.5 Gi', MEMORY_EXAMPLE],
      ['dapr.io/sidecar-memory-limit', '4000Mi\n', MEMORY_EXAMPLE],
      ['dapr.io/sidecar-memory-limit', '1e3Mi', MEMORY_EXAMPLE],
    ];
    for (const [annotation, value, example] of cases) {
      it(`${annotation} ${JSON.stringify(value)}`, () => {
        assert.deepEqual(messagesFor({ [annotation]: value }), [notQuantity(annotation, value, example)]);
      });
    }

    it('reports each bad annotation once and skips the request/limit comparison for it', () => {
      assert.deepEqual(messagesFor({ 'dapr.io/sidecar-cpu-request': '2 cores', 'dapr.io/sidecar-cpu-limit': '1' }), [
        notQuantity('dapr.io/sidecar-cpu-request', '2 cores', CPU_EXAMPLE),
      ]);
      assert.equal(
        messagesFor({
          'dapr.io/sidecar-cpu-request': 'a',
          'dapr.io/sidecar-cpu-limit': 'b',
          'dapr.io/sidecar-memory-request': 'c',
          'dapr.io/sidecar-memory-limit': 'd',
        }).length,
        4,
      );
    });

    it('shortens a long bad value so the message fits in a warning', () => {
      const value = `${'9'.repeat(50)} cores`;
      assert.deepEqual(messagesFor({ 'dapr.io/sidecar-cpu-limit': value }), [
        `dapr.io/sidecar-cpu-limit "${'9'.repeat(39)}…" is not a Kubernetes quantity — use a value such as ${CPU_EXAMPLE}; Dapr ignores all four sidecar resource annotations when one is invalid`,
      ]);
    });
  });

  describe('refuses a value longer than any quantity without quoting it, in linear time', () => {
    const tooLong = (annotation: string, example: string): string =>
      `${annotation} is longer than 64 characters, so it is not a Kubernetes quantity — use a value such as ${example}; Dapr ignores all four sidecar resource annotations when one is invalid`;
    const digits = '9'.repeat(MIB);
    const cases: ReadonlyArray<readonly [string, string, string, string]> = [
      ['65 digits', 'dapr.io/sidecar-cpu-limit', '9'.repeat(65), CPU_EXAMPLE],
      ['a MiB of digits then x (the ReDoS)', 'dapr.io/sidecar-cpu-limit', `${digits}x`, CPU_EXAMPLE],
      ['a MiB of digits', 'dapr.io/sidecar-cpu-request', digits, CPU_EXAMPLE],
      ['a MiB of digits then Mi', 'dapr.io/sidecar-memory-limit', `${digits}Mi`, MEMORY_EXAMPLE],
      ['a MiB of digits, a point, then x', 'dapr.io/sidecar-memory-request', `${digits}.x`, MEMORY_EXAMPLE],
    ];
    for (const [name, annotation, value, example] of cases) {
      it(name, () => {
        const { result, ms } = timed(() => messagesFor({ [annotation]: value }));
        assert.deepEqual(result, [tooLong(annotation, example)]);
        assert.ok(ms < LINEAR_BOUND_MS, `${ms.toFixed(1)} ms`);
      });
    }
  });

  it('refuses negative values', () => {
    assert.deepEqual(messagesFor({ 'dapr.io/sidecar-cpu-request': '-100m', 'dapr.io/sidecar-memory-limit': '-1Gi' }), [
      'dapr.io/sidecar-cpu-request "-100m" is negative — use a value such as "4" or "500m"; Kubernetes refuses a Pod whose daprd container has a negative cpu value',
      'dapr.io/sidecar-memory-limit "-1Gi" is negative — use a value such as "512Mi" or "1Gi"; Kubernetes refuses a Pod whose daprd container has a negative memory value',
    ]);
  });

  describe('refuses a request above its limit', () => {
    const cases: ReadonlyArray<readonly [string, Record<string, string>, string]> = [
      [
        'cpu',
        { 'dapr.io/sidecar-cpu-request': '2', 'dapr.io/sidecar-cpu-limit': '1' },
        'dapr.io/sidecar-cpu-request "2" is above dapr.io/sidecar-cpu-limit "1" — lower the request or raise the limit; Kubernetes refuses a Pod whose daprd cpu request exceeds its limit',
      ],
      [
        'cpu in millicores',
        { 'dapr.io/sidecar-cpu-request': '501m', 'dapr.io/sidecar-cpu-limit': '0.5' },
        'dapr.io/sidecar-cpu-request "501m" is above dapr.io/sidecar-cpu-limit "0.5" — lower the request or raise the limit; Kubernetes refuses a Pod whose daprd cpu request exceeds its limit',
      ],
      [
        'memory across units',
        { 'dapr.io/sidecar-memory-request': '1.5Gi', 'dapr.io/sidecar-memory-limit': '1000Mi' },
        'dapr.io/sidecar-memory-request "1.5Gi" is above dapr.io/sidecar-memory-limit "1000Mi" — lower the request or raise the limit; Kubernetes refuses a Pod whose daprd memory request exceeds its limit',
      ],
      [
        'memory, decimal above binary',
        { 'dapr.io/sidecar-memory-request': '1G', 'dapr.io/sidecar-memory-limit': '953Mi' },
        'dapr.io/sidecar-memory-request "1G" is above dapr.io/sidecar-memory-limit "953Mi" — lower the request or raise the limit; Kubernetes refuses a Pod whose daprd memory request exceeds its limit',
      ],
    ];
    for (const [name, annotations, message] of cases) {
      it(name, () => assert.deepEqual(messagesFor(annotations), [message]));
    }
  });

  describe('checks every kind that creates Pods, on CREATE and UPDATE, in enforce mode', () => {
    for (const { kind } of WORKLOAD_CASES) {
      for (const operation of ['CREATE', 'UPDATE'] as const) {
        it(`${kind} ${operation}`, () => {
          const object = workload(kind, { 'dapr.io/enabled': 'True', 'dapr.io/sidecar-cpu-limit': '4 cores' });
          const found = violations(
            admissionRequest(object, operation === 'UPDATE' ? { operation, oldObject: object } : {}),
          );
          assert.deepEqual(found, [
            {
              ruleId: SIDECAR_RESOURCE_VALUES_RULE_ID,
              mode: 'enforce',
              message: notQuantity('dapr.io/sidecar-cpu-limit', '4 cores', CPU_EXAMPLE),
            },
          ]);
        });
      }
    }
  });

  describe('ignores what Dapr ignores', () => {
    it('workloads that are not Dapr-enabled', () => {
      for (const enabled of ['false', '1', 'yes', undefined]) {
        const annotations = {
          'dapr.io/sidecar-cpu-limit': '4 cores',
          ...(enabled === undefined ? {} : { 'dapr.io/enabled': enabled }),
        };
        assert.deepEqual(violations(admissionRequest(workload('Deployment', annotations))), [], String(enabled));
      }
    });

    it('annotations on the Deployment itself rather than its pod template', () => {
      const object = workload(
        'Deployment',
        { 'dapr.io/enabled': 'true' },
        { metadata: { annotations: { 'dapr.io/sidecar-cpu-limit': '4 cores' } } },
      );
      assert.deepEqual(violations(admissionRequest(object)), []);
    });
  });

  describe('survives malformed objects', () => {
    const shapes: ReadonlyArray<readonly [string, KubeObject]> = [
      ['no spec', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } }],
      ['template is a list', { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: [] } }],
      [
        'non-string values',
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            annotations: { 'dapr.io/enabled': 'true', 'dapr.io/sidecar-cpu-limit': 4 } as unknown as Record<
              string,
              string
            >,
          },
        },
      ],
    ];
    for (const [name, object] of shapes) {
      it(name, () => assert.deepEqual(violations(admissionRequest(object)), []));
    }
  });

  it('finds nothing wrong in the recorded reviews', () => {
    for (const file of fixtureFiles('reviews', '.json')) {
      const { request } = jsonFixture<{ request: AdmissionRequest }>(file);
      assert.deepEqual(violations(request), [], file);
    }
  });

  it('finds nothing wrong in the Dapr workloads of the corpus', () => {
    const kinds = new Set(WORKLOAD_CASES.map((entry) => entry.kind));
    const objects = fixtureFiles('dapr-corpus', '.yaml')
      .flatMap((file) => yamlObjects(file))
      .filter((object) => kinds.has(object.kind ?? ''));
    assert.ok(objects.length >= 67);
    for (const object of objects)
      assert.deepEqual(violations(admissionRequest(object)), [], `${object.kind} ${object.metadata?.name}`);
  });
});
