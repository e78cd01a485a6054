import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { formatMessage } from '../../src/policy/decide.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { MTLS_ENABLED_RULE_ID, mtlsEnabledRule } from '../../src/rules/mtls-enabled.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest, type RequestOptions } from '../support/requests.ts';

interface Outcome {
  readonly message: string;
  readonly mode: string;
}

const rule = mtlsEnabledRule();

function outcomes(object: KubeObject, options: RequestOptions = {}): Outcome[] {
  return evaluate(admissionRequest(object, options), testPolicy([rule]), 'validate').violations.map(
    ({ message, mode }) => ({ message, mode }),
  );
}

function configuration(name: string, spec: unknown, kind = 'Configuration'): KubeObject {
  return { apiVersion: 'dapr.io/v1alpha1', kind, metadata: { name, namespace: 'dapr-system' }, spec };
}

const MTLS_OFF = {
  mtls: {
    enabled: false,
    sentryAddress: 'dapr-sentry.dapr-system.svc.cluster.local:443',
    controlPlaneTrustDomain: 'cluster.local',
  },
};

describe(MTLS_ENABLED_RULE_ID, () => {
  it('is a validating rule that enforces by default', () => {
    assert.equal(rule.type, 'validating');
    assert.equal(rule.defaultMode, 'enforce');
  });

  describe('refuses spec.mtls.enabled: false', () => {
    const cases: ReadonlyArray<{ readonly name: string; readonly expected: string }> = [
      {
        name: 'daprsystem',
        expected:
          'Configuration "daprsystem" sets spec.mtls.enabled: false (in the control-plane namespace this turns off mTLS for every Dapr sidecar) — set spec.mtls.enabled to true',
      },
      {
        name: 'appconfig',
        expected:
          'Configuration "appconfig" sets spec.mtls.enabled: false (only daprsystem in the control-plane namespace takes effect, but disabled mTLS is refused everywhere) — set spec.mtls.enabled to true',
      },
    ];
    for (const { name, expected } of cases) {
      for (const operation of ['CREATE', 'UPDATE'] as const) {
        it(`${name} ${operation}`, () => {
          const object = configuration(name, MTLS_OFF);
          const options: RequestOptions =
            operation === 'UPDATE' ? { operation, oldObject: configuration(name, {}) } : { operation };
          assert.deepEqual(outcomes(object, options), [{ message: expected, mode: 'enforce' }]);
        });
      }
    }
  });

  describe('allows everything else', () => {
    const specs: ReadonlyArray<[string, unknown]> = [
      ['enabled: true', { mtls: { ...MTLS_OFF.mtls, enabled: true } }],
      ['enabled absent (defaults to true)', { mtls: { sentryAddress: 'dapr-sentry:443' } }],
      ['no mtls block', { tracing: { samplingRate: '1' } }],
      ['enabled as the string "false" (the CRD schema refuses it before webhooks)', { mtls: { enabled: 'false' } }],
      ['enabled: null', { mtls: { enabled: null } }],
      ['mtls is not an object', { mtls: false }],
      ['spec is not an object', 'mtls'],
      ['no spec', undefined],
    ];
    for (const [name, spec] of specs) {
      it(name, () => assert.deepEqual(outcomes(configuration('daprsystem', spec)), []));
    }

    it('a Component with the same fields', () => {
      assert.deepEqual(outcomes(configuration('daprsystem', MTLS_OFF, 'Component')), []);
    });

    it('DELETE', () => {
      assert.deepEqual(
        outcomes(configuration('daprsystem', MTLS_OFF), {
          operation: 'DELETE',
          oldObject: configuration('daprsystem', MTLS_OFF),
        }),
        [],
      );
    });
  });

  it('fits a 253-character name into 256 characters with the prefix', () => {
    const [found] = outcomes(configuration('c'.repeat(253), MTLS_OFF));
    assert.ok(found);
    assert.match(
      found.message,
      /^Configuration "c+…" sets spec\.mtls\.enabled: false .* — set spec\.mtls\.enabled to true$/,
    );
    assert.ok(formatMessage({ ruleId: MTLS_ENABLED_RULE_ID, message: found.message }).length <= MAX_WARNING_LENGTH);
  });
});
