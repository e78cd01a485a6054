import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { decide } from '../../src/policy/decide.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import type { Mode } from '../../src/admission/mode.ts';
import { apiTokenRule } from '../../src/rules/api-token.ts';
import { componentPlaintextSecretsRule } from '../../src/rules/component-plaintext-secrets.ts';
import { controlPlaneNamespaceRule } from '../../src/rules/control-plane-namespace.ts';
import { controlPlaneResourcesRule } from '../../src/rules/control-plane-resources.ts';
import { mtlsEnabledRule } from '../../src/rules/mtls-enabled.ts';
import { observabilityRule } from '../../src/rules/observability.ts';
import type { Rule } from '../../src/rules/rule.ts';
import { sidecarResourcesRule } from '../../src/rules/sidecar-resources.ts';
import { sidecarResourceValuesRule } from '../../src/rules/sidecar-resource-values.ts';
import { PRODUCTION_SIDECAR_RESOURCES } from '../../src/rules/support/dapr-annotations.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';

/** Every rule: none may put a planted `SECRET-` marker into a denial, a warning or an audit annotation. */
const RULES: readonly Rule[] = [
  sidecarResourcesRule(PRODUCTION_SIDECAR_RESOURCES),
  sidecarResourceValuesRule(),
  apiTokenRule(),
  controlPlaneNamespaceRule(),
  controlPlaneResourcesRule(),
  componentPlaintextSecretsRule(),
  mtlsEnabledRule(),
  observabilityRule(),
];

function dapr(kind: string, spec: unknown): KubeObject {
  return { apiVersion: 'dapr.io/v1alpha1', kind, metadata: { name: 'store', namespace: 'shop' }, spec };
}

/** The placements of the security review's probe (2026-12, §6), names and values. */
const SHAPES: ReadonlyArray<readonly [string, KubeObject]> = [
  [
    'swapped name and value',
    dapr('Component', {
      type: 'state.sqlserver',
      metadata: [{ name: 'Server=db;User Id=sa;Password=SECRET-SWAP', value: 'connectionString' }],
    }),
  ],
  [
    'a header name with its value',
    dapr('HTTPEndpoint', { baseUrl: 'https://x.example.com', headers: [{ name: 'X-Token: SECRET-HN1', value: 'x' }] }),
  ],
  [
    'an OTel header name with its value',
    dapr('Configuration', { tracing: { otel: { headers: [{ name: 'api-key: SECRET-OT1', value: 'x' }] } } }),
  ],
  [
    'a GraphQL header item with its value',
    dapr('Component', {
      type: 'bindings.graphql',
      metadata: [{ name: 'header:Authorization:SECRET-GQ1', value: 'x' }],
    }),
  ],
  [
    'a name with a URL with credentials',
    dapr('Component', { type: 'bindings.http', metadata: [{ name: 'https://u:SECRET-NURL@h', value: 'url' }] }),
  ],
  [
    'a plaintext value',
    dapr('Component', { type: 'state.redis', metadata: [{ name: 'redisPassword', value: 'SECRET-VAL' }] }),
  ],
  [
    'a connection string value',
    dapr('Component', {
      type: 'state.postgresql',
      metadata: [{ name: 'connectionString', value: 'host=db password=SECRET-DSN' }],
    }),
  ],
  [
    'URL userinfo',
    dapr('Component', {
      type: 'state.redis',
      metadata: [{ name: 'redisHost', value: 'redis://:SECRET-UI@redis:6379' }],
    }),
  ],
  ['baseUrl userinfo', dapr('HTTPEndpoint', { baseUrl: 'https://u:SECRET-BASE@x.example.com' })],
  [
    'OTel endpoint query',
    dapr('Configuration', { tracing: { otel: { endpointAddress: 'https://otlp.example.com/v1?api-key=SECRET-Q' } } }),
  ],
  ['a metadata item with no name', dapr('Component', { type: 'state.redis', metadata: [{ value: 'SECRET-NONAME' }] })],
  [
    'an object value',
    dapr('Component', { type: 'state.redis', metadata: [{ name: 'redisPassword', value: { nested: 'SECRET-OBJ' } }] }),
  ],
];

const MODES: readonly Mode[] = ['enforce', 'warn', 'audit'];

describe('no rule publishes a planted secret, in any mode', () => {
  it('probes the 12 placements in 3 modes', () => assert.equal(SHAPES.length * MODES.length, 36));

  for (const [name, object] of SHAPES) {
    for (const mode of MODES) {
      it(`${name}, ${mode}`, () => {
        const evaluation = evaluate(admissionRequest(object), testPolicy(RULES, { globalMode: mode }), 'validate');
        if (name !== 'a metadata item with no name') assert.ok(evaluation.violations.length > 0, 'the probe is found');
        const reply = JSON.stringify(decide('uid-1', evaluation));
        assert.ok(!reply.includes('SECRET-'), reply);
      });
    }
  }
});
