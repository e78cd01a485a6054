import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { formatMessage } from '../../src/policy/decide.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { OBSERVABILITY_RULE_ID, observabilityRule } from '../../src/rules/observability.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';

interface Outcome {
  readonly message: string;
  readonly mode: string;
}

const rule = observabilityRule();

function outcomes(spec: unknown, kind = 'Configuration'): Outcome[] {
  const object: KubeObject = {
    apiVersion: 'dapr.io/v1alpha1',
    kind,
    metadata: { name: 'appconfig', namespace: 'shop' },
    spec,
  };
  return evaluate(admissionRequest(object), testPolicy([rule]), 'validate').violations.map(({ message, mode }) => ({
    message,
    mode,
  }));
}

function metricsOff(key: 'metric' | 'metrics'): Outcome {
  return {
    message: `Configuration "appconfig" sets spec.${key}.enabled: false, so its sidecars export no metrics — remove it or set spec.${key}.enabled to true`,
    mode: 'warn',
  };
}

function samplingOff(rate: string): Outcome {
  return {
    message: `Configuration "appconfig" sets spec.tracing.samplingRate "${rate}", which turns trace sampling off — use a rate above 0, for example "0.01" ("1" samples every request)`,
    mode: 'warn',
  };
}

describe(OBSERVABILITY_RULE_ID, () => {
  it('is a validating rule that warns by default, even under a global enforce', () => {
    assert.equal(rule.type, 'validating');
    assert.equal(rule.defaultMode, 'warn');
  });

  describe('metrics', () => {
    const cases: ReadonlyArray<[string, unknown, Outcome[]]> = [
      ['spec.metric.enabled: false', { metric: { enabled: false } }, [metricsOff('metric')]],
      ['spec.metrics.enabled: false', { metrics: { enabled: false } }, [metricsOff('metrics')]],
      [
        'both spellings disabled: one finding each',
        { metric: { enabled: false }, metrics: { enabled: false } },
        [metricsOff('metric'), metricsOff('metrics')],
      ],
      ['enabled: true', { metric: { enabled: true }, metrics: { enabled: true } }, []],
      ['enabled absent', { metric: { http: { increasedCardinality: false } } }, []],
      ['enabled as a string (refused by the CRD schema first)', { metric: { enabled: 'false' } }, []],
      ['metric is not an object', { metric: false, metrics: 'off' }, []],
    ];
    for (const [name, spec, expected] of cases) {
      it(name, () => assert.deepEqual(outcomes(spec), expected));
    }
  });

  describe('tracing samplingRate', () => {
    const off = ['0', '0.0', '00', '+0', '-0', '.0', '0.', '0e5', '0.000', '-1', '-0.5'];
    for (const rate of off) {
      it(`"${rate}" samples nothing`, () =>
        assert.deepEqual(outcomes({ tracing: { samplingRate: rate } }), [samplingOff(rate)]));
    }
    it('a number 0 (refused by the CRD schema first, handled anyway)', () => {
      assert.deepEqual(outcomes({ tracing: { samplingRate: 0 } }), [samplingOff('0')]);
    });
    // Dapr uses 0.0001 when Go's strconv.ParseFloat fails, so unparsable rates still sample.
    const on = ['1', '0.0001', '1e-4', '', ' 0', '0x0', 'zero', 'NaN', '<REPLACE-WITH-INTEGER>'];
    for (const rate of on) {
      it(`"${rate}" still samples`, () => assert.deepEqual(outcomes({ tracing: { samplingRate: rate } }), []));
    }
    it('no samplingRate, no tracing, malformed tracing', () => {
      assert.deepEqual(outcomes({ tracing: { stdout: true } }), []);
      assert.deepEqual(outcomes({}), []);
      assert.deepEqual(outcomes({ tracing: 'off' }), []);
      assert.deepEqual(outcomes({ tracing: { samplingRate: null } }), []);
      assert.deepEqual(outcomes(undefined), []);
    });
  });

  it('reports metrics and sampling together', () => {
    assert.deepEqual(outcomes({ metrics: { enabled: false }, tracing: { samplingRate: '0' } }), [
      metricsOff('metrics'),
      samplingOff('0'),
    ]);
  });

  it('ignores other kinds', () => {
    assert.deepEqual(outcomes({ metrics: { enabled: false }, tracing: { samplingRate: '0' } }, 'Component'), []);
  });

  it('clips a long rate to fit 256 characters with the prefix', () => {
    const [found] = outcomes({ tracing: { samplingRate: '0'.repeat(400) } });
    assert.ok(found);
    assert.ok(
      formatMessage({ ruleId: OBSERVABILITY_RULE_ID, message: found.message }).length <= MAX_WARNING_LENGTH,
      found.message,
    );
    assert.match(found.message, /samplingRate "0+…"/);
  });
});
