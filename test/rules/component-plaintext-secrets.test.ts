import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionRequest, KubeObject } from '../../src/admission/wire.ts';
import { formatMessage } from '../../src/policy/decide.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import {
  COMPONENT_PLAINTEXT_SECRETS_RULE_ID,
  componentPlaintextSecretsRule,
} from '../../src/rules/component-plaintext-secrets.ts';
import { jsonFixture } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';

/** Planted secret values: no message may contain them. */
const CANARY = 'CANARY-7f3a9c-s3cr3t';
const CANARIES = [CANARY, 'CANARY-url-pw-41d2', 'CANARY-query-9be0', 'CANARY-dsn-5e11', '987654321'];

const K8S = ' (Kubernetes Secret or auth.secretStore)';

interface Outcome {
  readonly message: string;
  readonly mode: string;
}

const rule = componentPlaintextSecretsRule();
const messagesSeen: string[] = [];

function outcomesOf(request: AdmissionRequest): Outcome[] {
  const outcomes = evaluate(request, testPolicy([rule]), 'validate').violations.map(({ message, mode }) => ({
    message,
    mode,
  }));
  messagesSeen.push(...outcomes.map((outcome) => outcome.message));
  return outcomes;
}

function outcomes(object: KubeObject): Outcome[] {
  return outcomesOf(admissionRequest(object));
}

function component(type: unknown, metadata: unknown, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'statestore', namespace: 'shop' },
    spec: { type, version: 'v1', metadata },
    ...extra,
  };
}

function plaintext(field: string, hint = K8S): Outcome {
  return {
    message: `Component "statestore": spec.metadata ${field} is a plaintext secret — use secretKeyRef: {name: <secret>, key: ${field}}${hint}`,
    mode: 'enforce',
  };
}

function inUrl(field: string): Outcome {
  return {
    message: `Component "statestore": spec.metadata ${field} has credentials in a URL — use secretKeyRef: {name: <secret>, key: ${field}}${K8S}`,
    mode: 'enforce',
  };
}

function empty(field: string): Outcome {
  return {
    message: `Component "statestore": spec.metadata ${field} is empty — remove it, or use secretKeyRef: {name: <secret>, key: ${field}} if a secret is needed`,
    mode: 'warn',
  };
}

describe(COMPONENT_PLAINTEXT_SECRETS_RULE_ID, () => {
  it('is a validating rule that enforces by default', () => {
    assert.equal(rule.type, 'validating');
    assert.equal(rule.defaultMode, 'enforce');
  });

  describe('Component metadata', () => {
    const cases: ReadonlyArray<{
      readonly name: string;
      readonly type: unknown;
      readonly item: Record<string, unknown>;
      readonly expected: Outcome[];
    }> = [
      {
        name: 'declared sensitive field',
        type: 'state.redis',
        item: { name: 'redisPassword', value: CANARY },
        expected: [plaintext('redisPassword')],
      },
      {
        name: 'spec.type in another case',
        type: 'State.Redis',
        item: { name: 'redisPassword', value: CANARY },
        expected: [plaintext('redisPassword')],
      },
      {
        name: 'field name in another case',
        type: 'state.redis',
        item: { name: 'REDISPASSWORD', value: CANARY },
        expected: [plaintext('REDISPASSWORD')],
      },
      {
        name: 'declared only for this type (host, rabbitmq)',
        type: 'bindings.rabbitmq',
        item: { name: 'host', value: CANARY },
        expected: [plaintext('host')],
      },
      {
        name: 'same name not sensitive for another type (host, postgres)',
        type: 'state.postgresql',
        item: { name: 'host', value: 'db.example.com' },
        expected: [],
      },
      {
        name: 'alias of a sensitive field (url for connectionString)',
        type: 'state.postgresql',
        item: { name: 'url', value: CANARY },
        expected: [plaintext('url')],
      },
      {
        name: 'alias of a sensitive field (private_key for privateKey)',
        type: 'secretstores.gcp.secretmanager',
        item: { name: 'private_key', value: CANARY },
        expected: [plaintext('private_key')],
      },
      {
        name: 'alias where the field is not sensitive (sqlite url)',
        type: 'state.sqlite',
        item: { name: 'url', value: 'data.db' },
        expected: [],
      },
      {
        name: 'sqlite connection string is a file name',
        type: 'state.sqlite',
        item: { name: 'connectionString', value: 'file:data.db?_pragma=busy_timeout(500)' },
        expected: [],
      },
      {
        name: 'heuristic: vaultToken (not declared)',
        type: 'secretstores.hashicorp.vault',
        item: { name: 'vaultToken', value: CANARY },
        expected: [plaintext('vaultToken')],
      },
      {
        name: 'heuristic: PostgreSQL password (not declared)',
        type: 'state.postgresql',
        item: { name: 'password', value: CANARY },
        expected: [plaintext('password')],
      },
      {
        name: 'heuristic: unknown type',
        type: 'bindings.twitter',
        item: { name: 'consumerSecret', value: CANARY },
        expected: [plaintext('consumerSecret')],
      },
      {
        name: 'heuristic: spec.type missing',
        type: undefined,
        item: { name: 'apiKey', value: CANARY },
        expected: [plaintext('apiKey')],
      },
      {
        name: 'heuristic: spec.type not a string',
        type: 42,
        item: { name: 'clientSecret', value: CANARY },
        expected: [plaintext('clientSecret')],
      },
      {
        name: 'GraphQL header:Authorization',
        type: 'bindings.graphql',
        item: { name: 'header:Authorization', value: `Bearer ${CANARY}` },
        expected: [
          {
            message: `Component "statestore": spec.metadata header:Authorization is a plaintext secret — use secretKeyRef: {name: <secret>, key: header-Authorization}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'GraphQL header:Content-Type',
        type: 'bindings.graphql',
        item: { name: 'header:Content-Type', value: 'application/json' },
        expected: [],
      },
      {
        name: 'placeholder values are plaintext too',
        type: 'state.redis',
        item: { name: 'redisPassword', value: '<your-password>' },
        expected: [plaintext('redisPassword')],
      },
      {
        name: 'a number',
        type: 'state.redis',
        item: { name: 'redisPassword', value: 987654321 },
        expected: [plaintext('redisPassword')],
      },
      {
        name: 'a boolean',
        type: 'state.redis',
        item: { name: 'redisPassword', value: true },
        expected: [plaintext('redisPassword')],
      },
      {
        name: 'an object',
        type: 'state.redis',
        item: { name: 'redisPassword', value: { nested: CANARY } },
        expected: [plaintext('redisPassword')],
      },
      {
        name: 'value next to a secretKeyRef',
        type: 'state.redis',
        item: { name: 'redisPassword', value: CANARY, secretKeyRef: { name: 'redis', key: 'password' } },
        expected: [plaintext('redisPassword')],
      },
      {
        name: 'secretKeyRef',
        type: 'state.redis',
        item: { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } },
        expected: [],
      },
      { name: 'envRef', type: 'state.redis', item: { name: 'redisPassword', envRef: 'REDIS_PASSWORD' }, expected: [] },
      {
        name: 'empty string',
        type: 'state.redis',
        item: { name: 'redisPassword', value: '' },
        expected: [empty('redisPassword')],
      },
      {
        name: 'null',
        type: 'state.redis',
        item: { name: 'redisPassword', value: null },
        expected: [empty('redisPassword')],
      },
      {
        name: 'empty object',
        type: 'state.redis',
        item: { name: 'redisPassword', value: {} },
        expected: [empty('redisPassword')],
      },
      { name: 'empty innocent field', type: 'state.redis', item: { name: 'redisHost', value: '' }, expected: [] },
      {
        name: 'URL with user:password in an innocent field',
        type: 'bindings.http',
        item: { name: 'url', value: 'https://admin:CANARY-url-pw-41d2@api.example.com/v1' },
        expected: [inUrl('url')],
      },
      {
        name: 'URL with :password only',
        type: 'state.redis',
        item: { name: 'redisHost', value: 'redis://:CANARY-url-pw-41d2@redis:6379' },
        expected: [inUrl('redisHost')],
      },
      {
        name: 'second URL of a list',
        type: 'pubsub.kafka',
        item: { name: 'brokers', value: 'kafka://k1:9092,kafka://u:CANARY-url-pw-41d2@k2:9092' },
        expected: [inUrl('brokers')],
      },
      {
        name: 'URL with a token query parameter',
        type: 'bindings.http',
        item: { name: 'url', value: 'https://hooks.example.com/send?access_token=CANARY-query-9be0' },
        expected: [inUrl('url')],
      },
      {
        name: 'declared-sensitive URL with credentials',
        type: 'pubsub.mqtt3',
        item: { name: 'url', value: 'tcp://user:CANARY-url-pw-41d2@mqtt:1883' },
        expected: [inUrl('url')],
      },
      {
        name: 'connection string with a password',
        type: 'bindings.postgresql',
        item: { name: 'url', value: 'host=db user=orders password=CANARY-dsn-5e11 port=5432' },
        expected: [
          {
            message: `Component "statestore": spec.metadata url has credentials in a connection string — use secretKeyRef: {name: <secret>, key: url}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'URL with a user only',
        type: 'bindings.http',
        item: { name: 'url', value: 'https://deploy@git.example.com/repo.git' },
        expected: [],
      },
      {
        name: 'URL with an empty password',
        type: 'bindings.http',
        item: { name: 'url', value: 'https://deploy:@git.example.com/' },
        expected: [],
      },
      {
        name: 'URL with host:port',
        type: 'bindings.http',
        item: { name: 'url', value: 'https://api.example.com:8443/v1?token_type=bearer&scope=read' },
        expected: [],
      },
      {
        name: 'connection string without a password',
        type: 'state.mongodb',
        item: { name: 'host', value: 'host=db port=5432 sslmode=verify-full' },
        expected: [],
      },
    ];
    for (const { name, type, item, expected } of cases) {
      it(name, () => assert.deepEqual(outcomes(component(type, [item])), expected));
    }
  });

  describe('names that are not credentials (heuristic-eval H2 exclusions and …id / …name)', () => {
    const names = [
      'keyPrefix',
      'actorStateStore',
      'vaultTokenMountPath',
      'secretsFile',
      'tokenURL',
      'oidcTokenEndpoint',
      'partitionKey',
      'keyType',
      'keyLength',
      'publicKey',
      'caCertificatePem',
      'accessKeyId',
      'private_key_id',
      'key-id',
      'secretName',
      'redisHost',
      'consumerID',
    ];
    for (const name of names) {
      it(name, () => assert.deepEqual(outcomes(component('bindings.example', [{ name, value: CANARY }])), []));
    }
  });

  it('names the auth.secretStore of the component', () => {
    const object = component('state.redis', [{ name: 'redisPassword', value: CANARY }], {
      auth: { secretStore: 'vault' },
    });
    assert.deepEqual(outcomes(object), [plaintext('redisPassword', ' from secret store vault')]);
  });

  it('reports every plaintext entry, in order', () => {
    const object = component('state.redis', [
      { name: 'redisHost', value: 'redis:6379' },
      { name: 'redisPassword', value: CANARY },
      { name: 'sentinelPassword', value: '' },
    ]);
    assert.deepEqual(outcomes(object), [plaintext('redisPassword'), empty('sentinelPassword')]);
  });

  it('checks UPDATE like CREATE', () => {
    const object = component('state.redis', [{ name: 'redisPassword', value: CANARY }]);
    assert.deepEqual(outcomesOf(admissionRequest(object, { operation: 'UPDATE', oldObject: object })), [
      plaintext('redisPassword'),
    ]);
  });

  it('uses generateName when the component has no name yet', () => {
    const object = {
      ...component('state.redis', [{ name: 'redisPassword', value: CANARY }]),
      metadata: { generateName: 'store-' },
    };
    assert.match(outcomes(object)[0]?.message ?? '', /^Component "store-…": spec\.metadata redisPassword /);
  });

  describe('never crashes on malformed Components', () => {
    const specs: ReadonlyArray<[string, unknown]> = [
      ['no spec', undefined],
      ['spec is a string', 'state.redis'],
      ['spec is an array', []],
      ['metadata missing', { type: 'state.redis' }],
      ['metadata is an object', { type: 'state.redis', metadata: { redisPassword: CANARY } }],
      ['items of every JSON type', { type: 'state.redis', metadata: [null, 1, 'redisPassword', [], true] }],
      ['item without a name', { type: 'state.redis', metadata: [{ value: CANARY }] }],
      ['item with a number name', { type: 'state.redis', metadata: [{ name: 7, value: CANARY }] }],
    ];
    for (const [name, spec] of specs) {
      it(name, () =>
        assert.deepEqual(
          outcomes({ apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'statestore' }, spec }),
          [],
        ),
      );
    }
  });

  it('ignores kinds other than the Dapr ones and other API groups', () => {
    const lookalike = component('state.redis', [{ name: 'redisPassword', value: CANARY }]);
    const request = admissionRequest(lookalike);
    const otherGroup = { ...request, kind: { group: 'example.com', version: 'v1', kind: 'Component' } };
    assert.deepEqual(outcomesOf(otherGroup), []);
    assert.deepEqual(
      outcomes({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cm' },
        spec: { metadata: [{ name: 'password', value: CANARY }] },
      }),
      [],
    );
  });

  it('skips DELETE (nothing is stored)', () => {
    const object = component('state.redis', [{ name: 'redisPassword', value: CANARY }]);
    assert.deepEqual(outcomesOf(admissionRequest(object, { operation: 'DELETE', oldObject: object })), []);
  });

  it('refuses the recorded AdmissionReview of the docs Redis pub/sub Component', () => {
    const review = jsonFixture<{ request: AdmissionRequest }>('reviews/component-create-redis-pubsub.json');
    assert.deepEqual(outcomesOf(review.request), [
      {
        message: `Component "redis-pubsub": spec.metadata redisPassword is a plaintext secret — use secretKeyRef: {name: <secret>, key: redisPassword}${K8S}`,
        mode: 'enforce',
      },
    ]);
    assert.ok(!JSON.stringify(outcomesOf(review.request)).includes('KeFg23!'));
  });

  describe('HTTPEndpoint', () => {
    const endpoint = (spec: unknown, extra: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'HTTPEndpoint',
      metadata: { name: 'payments-api', namespace: 'shop' },
      spec,
      ...extra,
    });
    const header = (name: string): Outcome => ({
      message: `HTTPEndpoint "payments-api": spec.headers ${name} is a plaintext secret — use secretKeyRef: {name: <secret>, key: ${name}}${K8S}`,
      mode: 'enforce',
    });
    const base = { baseUrl: 'https://payments.example.com' };
    const cases: ReadonlyArray<{ readonly name: string; readonly spec: unknown; readonly expected: Outcome[] }> = [
      {
        name: 'Authorization header',
        spec: { ...base, headers: [{ name: 'Authorization', value: `Bearer ${CANARY}` }] },
        expected: [header('Authorization')],
      },
      {
        name: 'Proxy-Authorization header',
        spec: { ...base, headers: [{ name: 'Proxy-Authorization', value: CANARY }] },
        expected: [header('Proxy-Authorization')],
      },
      {
        name: 'x-api-key header',
        spec: { ...base, headers: [{ name: 'x-api-key', value: CANARY }] },
        expected: [header('x-api-key')],
      },
      {
        name: 'api-key header',
        spec: { ...base, headers: [{ name: 'api-key', value: CANARY }] },
        expected: [header('api-key')],
      },
      {
        name: 'X-Auth-Token header',
        spec: { ...base, headers: [{ name: 'X-Auth-Token', value: CANARY }] },
        expected: [header('X-Auth-Token')],
      },
      {
        name: 'Cookie header',
        spec: { ...base, headers: [{ name: 'Cookie', value: `session=${CANARY}` }] },
        expected: [header('Cookie')],
      },
      {
        name: 'Ocp-Apim-Subscription-Key header',
        spec: { ...base, headers: [{ name: 'Ocp-Apim-Subscription-Key', value: CANARY }] },
        expected: [header('Ocp-Apim-Subscription-Key')],
      },
      {
        name: 'innocent headers',
        spec: {
          ...base,
          headers: [
            { name: 'Content-Type', value: 'application/json' },
            { name: 'X-Request-Id', value: 'abc' },
            { name: 'Idempotency-Key', value: 'k1' },
          ],
        },
        expected: [],
      },
      {
        name: 'header from a secretKeyRef',
        spec: { ...base, headers: [{ name: 'Authorization', secretKeyRef: { name: 'payments', key: 'token' } }] },
        expected: [],
      },
      {
        name: 'empty Authorization header',
        spec: { ...base, headers: [{ name: 'Authorization', value: '' }] },
        expected: [
          {
            message:
              'HTTPEndpoint "payments-api": spec.headers Authorization is empty — remove it, or use secretKeyRef: {name: <secret>, key: Authorization} if a secret is needed',
            mode: 'warn',
          },
        ],
      },
      {
        name: 'innocent header with a URL with credentials',
        spec: { ...base, headers: [{ name: 'X-Callback', value: 'https://u:CANARY-url-pw-41d2@cb.example.com' }] },
        expected: [
          {
            message: `HTTPEndpoint "payments-api": spec.headers X-Callback has credentials in a URL — use secretKeyRef: {name: <secret>, key: X-Callback}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'plaintext client private key',
        spec: {
          ...base,
          clientTLS: {
            privateKey: { value: `-----BEGIN PRIVATE KEY-----${CANARY}` },
            certificate: { value: '-----BEGIN CERTIFICATE-----' },
            rootCA: { value: '-----BEGIN CERTIFICATE-----' },
          },
        },
        expected: [
          {
            message: `HTTPEndpoint "payments-api": spec.clientTLS.privateKey is a plaintext secret — use secretKeyRef: {name: <secret>, key: tls.key}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'client private key from a secretKeyRef',
        spec: { ...base, clientTLS: { privateKey: { secretKeyRef: { name: 'payments-tls', key: 'tls.key' } } } },
        expected: [],
      },
      {
        name: 'baseUrl with user:password',
        spec: { baseUrl: 'https://svc:CANARY-url-pw-41d2@payments.example.com' },
        expected: [
          {
            message: `HTTPEndpoint "payments-api": spec.baseUrl has credentials in a URL — move them to a spec.headers entry with secretKeyRef: {name: <secret>, key: <key>}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'malformed spec',
        spec: { baseUrl: 42, headers: { Authorization: CANARY }, clientTLS: { privateKey: CANARY } },
        expected: [],
      },
      {
        name: 'headers of every JSON type',
        spec: {
          ...base,
          headers: [null, 1, 'Authorization', { value: CANARY }, { name: ['Authorization'], value: CANARY }],
        },
        expected: [],
      },
    ];
    for (const { name, spec, expected } of cases) {
      it(name, () => assert.deepEqual(outcomes(endpoint(spec)), expected));
    }

    it('names the auth.secretStore of the endpoint', () => {
      const object = endpoint(
        { ...base, headers: [{ name: 'Authorization', value: CANARY }] },
        { auth: { secretStore: 'vault' } },
      );
      assert.deepEqual(outcomes(object), [
        {
          message:
            'HTTPEndpoint "payments-api": spec.headers Authorization is a plaintext secret — use secretKeyRef: {name: <secret>, key: Authorization} from secret store vault',
          mode: 'enforce',
        },
      ]);
    });
  });

  describe('Configuration tracing', () => {
    const configuration = (tracing: unknown): KubeObject => ({
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Configuration',
      metadata: { name: 'tracing', namespace: 'shop' },
      spec: { tracing },
    });
    const otel = { endpointAddress: 'otlp.example.com:4317', isSecure: true, protocol: 'grpc' };
    const cases: ReadonlyArray<{ readonly name: string; readonly tracing: unknown; readonly expected: Outcome[] }> = [
      {
        name: 'OTel api-key header',
        tracing: { samplingRate: '1', otel: { ...otel, headers: [{ name: 'api-key', value: CANARY }] } },
        expected: [
          {
            message:
              'Configuration "tracing": spec.tracing.otel.headers api-key is a plaintext secret — use secretKeyRef: {name: <secret>, key: api-key} or envRef',
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'OTel x-honeycomb-team header',
        tracing: { samplingRate: '1', otel: { ...otel, headers: [{ name: 'x-honeycomb-team', value: CANARY }] } },
        expected: [
          {
            message:
              'Configuration "tracing": spec.tracing.otel.headers x-honeycomb-team is a plaintext secret — use secretKeyRef: {name: <secret>, key: x-honeycomb-team} or envRef',
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'OTel header from a secretKeyRef',
        tracing: {
          samplingRate: '1',
          otel: { ...otel, headers: [{ name: 'api-key', secretKeyRef: { name: 'otel', key: 'api-key' } }] },
        },
        expected: [],
      },
      {
        name: 'OTel innocent header',
        tracing: { samplingRate: '1', otel: { ...otel, headers: [{ name: 'x-tenant', value: 'shop' }] } },
        expected: [],
      },
      {
        name: 'zipkin endpoint with an Api-Key query parameter',
        tracing: {
          samplingRate: '1',
          zipkin: {
            endpointAddress: 'https://trace-api.example.com/trace/v1?Api-Key=CANARY-query-9be0&Data-Format=zipkin',
          },
        },
        expected: [
          {
            message:
              'Configuration "tracing": spec.tracing.zipkin.endpointAddress has credentials in a URL — move them to a spec.tracing.otel.headers entry with secretKeyRef: {name: <secret>, key: <key>} or envRef',
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'OTel endpoint with user:password',
        tracing: {
          samplingRate: '1',
          otel: { ...otel, endpointAddress: 'https://u:CANARY-url-pw-41d2@otlp.example.com' },
        },
        expected: [
          {
            message:
              'Configuration "tracing": spec.tracing.otel.endpointAddress has credentials in a URL — move them to a spec.tracing.otel.headers entry with secretKeyRef: {name: <secret>, key: <key>} or envRef',
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'zipkin endpoint without credentials',
        tracing: {
          samplingRate: '1',
          zipkin: { endpointAddress: 'http://zipkin.default.svc.cluster.local:9411/api/v2/spans' },
        },
        expected: [],
      },
      { name: 'no tracing', tracing: undefined, expected: [] },
      { name: 'malformed tracing', tracing: { otel: { headers: 'api-key: x' }, zipkin: 'http://u:p@x' }, expected: [] },
    ];
    for (const { name, tracing, expected } of cases) {
      it(name, () => assert.deepEqual(outcomes(configuration(tracing)), expected));
    }
  });

  describe('secrets that sit in a name are referred to by position (security review 2026-12, §6)', () => {
    const named = (kind: string, spec: unknown): KubeObject => ({
      apiVersion: 'dapr.io/v1alpha1',
      kind,
      metadata: { name: 'store', namespace: 'shop' },
      spec,
    });
    const cases: ReadonlyArray<{ readonly name: string; readonly object: KubeObject; readonly expected: Outcome[] }> = [
      {
        name: 'name and value swapped: a connection string as the name',
        object: component('state.sqlserver', [
          { name: 'Server=db;User Id=sa;Password=SECRET-SWAP', value: 'connectionString' },
        ]),
        expected: [
          {
            message: `Component "statestore": spec.metadata[0] has credentials in its name — name it after the setting and take the credentials from secretKeyRef: {name: <secret>, key: <key>}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'an HTTPEndpoint header written with its value',
        object: named('HTTPEndpoint', {
          baseUrl: 'https://payments.example.com',
          headers: [{ name: 'X-Token: SECRET-HN1', value: 'x' }],
        }),
        expected: [
          {
            message: `HTTPEndpoint "store": spec.headers[0] is a plaintext secret — use secretKeyRef: {name: <secret>, key: <key>}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'a header written with its value and no space',
        object: named('HTTPEndpoint', {
          headers: [
            { name: 'Content-Type', value: 'text/plain' },
            { name: 'X-Token:SECRET-HN2', value: 'x' },
          ],
        }),
        expected: [
          {
            message: `HTTPEndpoint "store": spec.headers[1] is a plaintext secret — use secretKeyRef: {name: <secret>, key: <key>}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'an OTel header written with its value',
        object: named('Configuration', {
          tracing: { otel: { headers: [{ name: 'Authorization: Bearer SECRET-OT1', value: 'x' }] } },
        }),
        expected: [
          {
            message:
              'Configuration "store": spec.tracing.otel.headers[0] is a plaintext secret — use secretKeyRef: {name: <secret>, key: <key>} or envRef',
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'a name holding a password pair, whatever the value',
        object: component('state.redis', [
          null,
          { name: 'redisHost', value: 'redis:6379' },
          { name: 'password=SECRET-EQ', secretKeyRef: { name: 'redis', key: 'password' } },
        ]),
        expected: [
          {
            message: `Component "statestore": spec.metadata[2] has credentials in its name — name it after the setting and take the credentials from secretKeyRef: {name: <secret>, key: <key>}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'a GraphQL header item written with its value',
        object: component('bindings.graphql', [{ name: 'header:X-Token:SECRET-GQ1', value: 'x' }]),
        expected: [
          {
            message: `Component "statestore": spec.metadata[0] is a plaintext secret — use secretKeyRef: {name: <secret>, key: <key>}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
      {
        name: 'a name with a URL with credentials',
        object: component('bindings.http', [{ name: 'https://u:SECRET-URL@api.example.com', value: 'url' }]),
        expected: [
          {
            message: `Component "statestore": spec.metadata[0] has credentials in its name — name it after the setting and take the credentials from secretKeyRef: {name: <secret>, key: <key>}${K8S}`,
            mode: 'enforce',
          },
        ],
      },
    ];
    assert.equal(cases.length, 7);
    for (const { name, object, expected } of cases) {
      it(name, () => {
        const found = outcomes(object);
        assert.deepEqual(found, expected);
        for (const { message } of found) assert.ok(!message.includes('SECRET-'), message);
      });
    }
  });

  describe('lists the first 20 findings of an object and counts the rest', () => {
    const passwords = (count: number, value: string): Array<Record<string, string>> =>
      Array.from({ length: count }, (_, index) => ({ name: `password${index}`, value }));
    const more = (count: number, mode: string): Outcome => ({
      message: `Component "statestore": and ${count} more plaintext secrets or credentials, not listed here — use secretKeyRef for each of them too`,
      mode,
    });

    it('25 plaintext passwords: 20 listed, and 5 more', () => {
      const found = outcomes(component('state.redis', passwords(25, CANARY)));
      assert.equal(found.length, 21);
      assert.deepEqual(
        found.slice(0, 20),
        passwords(20, CANARY).map((item) => plaintext(item['name'] ?? '')),
      );
      assert.deepEqual(found[20], more(5, 'enforce'));
    });

    it('a refusal behind 20 pieces of advice still refuses', () => {
      const found = outcomes(
        component('state.redis', [...passwords(20, ''), { name: 'redisPassword', value: CANARY }]),
      );
      assert.equal(found.length, 21);
      assert.deepEqual(found[20], more(1, 'enforce'));
    });

    it('advice only stays advice', () => {
      const found = outcomes(component('state.redis', passwords(22, '')));
      assert.equal(found.length, 21);
      assert.deepEqual(found[20], more(2, 'warn'));
    });

    it('20 000 findings answer 21 messages', () => {
      assert.equal(outcomes(component('state.redis', passwords(20_000, CANARY))).length, 21);
    });
  });

  it('fits long names into 256 characters with the prefix, without the value', () => {
    const longName = 'n'.repeat(253);
    const longField = `password${'x'.repeat(300)}`;
    const objects: KubeObject[] = [
      {
        ...component('state.redis', [
          { name: longField, value: CANARY },
          { name: longField, value: '' },
          { name: 'url', value: `amqp://u:${CANARY}@h` },
        ]),
        metadata: { name: longName },
      },
      {
        ...component('state.redis', [{ name: 'redisPassword', value: CANARY }], {
          auth: { secretStore: 's'.repeat(253) },
        }),
        metadata: { name: longName },
      },
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'HTTPEndpoint',
        metadata: { name: longName },
        spec: { baseUrl: `https://u:${CANARY}@x`, headers: [{ name: `x-api-key-${'h'.repeat(300)}`, value: CANARY }] },
      },
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Configuration',
        metadata: { name: longName },
        spec: { tracing: { otel: { headers: [{ name: `token\n${'t'.repeat(300)}`, value: CANARY }] } } },
      },
    ];
    const found = objects.flatMap((object) => outcomes(object));
    assert.equal(found.length, 7);
    for (const { message } of found) {
      assert.ok(
        formatMessage({ ruleId: COMPONENT_PLAINTEXT_SECRETS_RULE_ID, message }).length <= MAX_WARNING_LENGTH,
        message,
      );
      assert.ok(!message.includes('\n'), message);
      assert.ok(!message.includes(CANARY), message);
    }
  });

  describe('MCPServer (Dapr 1.18): headers, URLs and stdio env', () => {
    const mcpServer = (endpoint: unknown): KubeObject => ({
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'MCPServer',
      metadata: { name: 'github', namespace: 'agents' },
      spec: { endpoint },
    });
    const cases: ReadonlyArray<[string, unknown, Outcome[]]> = [
      [
        'a plaintext Authorization header of streamableHTTP',
        {
          streamableHTTP: {
            url: 'https://api.githubcopilot.com/mcp/',
            headers: [
              { name: 'Authorization', value: `Bearer ${CANARY}` },
              { name: 'X-Trace', value: 'on' },
            ],
          },
        },
        [
          {
            message: `MCPServer "github": spec.endpoint.streamableHTTP.headers Authorization is a plaintext secret — use secretKeyRef: {name: <secret>, key: Authorization}${K8S}`,
            mode: 'enforce',
          },
        ],
      ],
      [
        'an sse header with the secret store of the endpoint named in the fix',
        {
          sse: {
            url: 'https://mcp.example.com/sse',
            auth: { secretStore: 'vault' },
            headers: [{ name: 'X-Api-Key', value: CANARY }],
          },
        },
        [
          {
            message:
              'MCPServer "github": spec.endpoint.sse.headers X-Api-Key is a plaintext secret — use secretKeyRef: {name: <secret>, key: X-Api-Key} from secret store vault',
            mode: 'enforce',
          },
        ],
      ],
      [
        'credentials in the URL',
        { sse: { url: `https://bot:${CANARIES[1] ?? ''}@mcp.example.com/sse` } },
        [
          {
            message: `MCPServer "github": spec.endpoint.sse.url has credentials in a URL — move them to a spec.endpoint.sse.headers entry with secretKeyRef: {name: <secret>, key: <key>}${K8S}`,
            mode: 'enforce',
          },
        ],
      ],
      [
        'a plaintext token in the stdio env',
        {
          stdio: {
            command: 'npx',
            args: ['-y', '@modelcontextprotocol/server-github'],
            env: [
              { name: 'GITHUB_PERSONAL_ACCESS_TOKEN', value: CANARY },
              { name: 'GITHUB_TOOLSETS', value: 'repos,issues' },
            ],
          },
        },
        [
          {
            message: `MCPServer "github": spec.endpoint.stdio.env GITHUB_PERSONAL_ACCESS_TOKEN is a plaintext secret — use secretKeyRef: {name: <secret>, key: GITHUB_PERSONAL_ACCESS_TOKEN}${K8S}`,
            mode: 'enforce',
          },
        ],
      ],
      [
        'secretKeyRef and envRef pass',
        {
          streamableHTTP: {
            url: 'https://api.githubcopilot.com/mcp/',
            headers: [
              { name: 'Authorization', secretKeyRef: { name: 'github', key: 'token' } },
              { name: 'X-Api-Key', envRef: 'API_KEY' },
            ],
          },
          stdio: { command: 'server', env: [{ name: 'GITHUB_TOKEN', secretKeyRef: { name: 'github', key: 'token' } }] },
        },
        [],
      ],
      ['no endpoint', undefined, []],
    ];
    assert.equal(cases.length, 6);
    for (const [name, endpoint, expected] of cases) {
      it(name, () => assert.deepEqual(outcomes(mcpServer(endpoint)), expected));
    }
  });

  describe('the dapr.io/component-container annotation (pluggable components)', () => {
    const withContainer = (annotation: string): KubeObject => {
      const object = component('state.my-pluggable', [{ name: 'connection', value: 'local' }]);
      return {
        ...object,
        metadata: { ...object.metadata, annotations: { 'dapr.io/component-container': annotation } },
      };
    };
    const container = (env: unknown): string =>
      JSON.stringify({ name: 'my-pluggable', image: 'ghcr.io/example/pluggable:1.0', env });
    const cases: ReadonlyArray<[string, string, Outcome[]]> = [
      [
        'a plaintext password in env',
        container([
          { name: 'DB_PASSWORD', value: CANARY },
          { name: 'LOG_LEVEL', value: 'debug' },
        ]),
        [
          {
            message:
              'Component "statestore": dapr.io/component-container env DB_PASSWORD is a plaintext secret — use valueFrom: {secretKeyRef: {name: <secret>, key: DB_PASSWORD}}',
            mode: 'enforce',
          },
        ],
      ],
      [
        'valueFrom.secretKeyRef passes',
        container([{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }]),
        [],
      ],
      ['not JSON (Dapr refuses the Component itself)', `{"env": [{"name": "DB_PASSWORD", "value": "${CANARY}"`, []],
      ['no env', container(undefined), []],
      [
        'longer than Kubernetes allows annotations to be',
        container([{ name: 'DB_PASSWORD', value: CANARY.repeat(20_000) }]),
        [],
      ],
    ];
    assert.equal(cases.length, 5);
    for (const [name, annotation, expected] of cases) {
      it(name, () => assert.deepEqual(outcomes(withContainer(annotation)), expected));
    }

    it('dapr.io/env-from-secret on a Pod is the safe form: never flagged', () => {
      const pod: KubeObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'orders',
          namespace: 'shop',
          annotations: { 'dapr.io/env-from-secret': 'DB_PASSWORD=db:password' },
        },
      };
      assert.deepEqual(outcomes(pod), []);
    });
  });

  it('never put a planted value into any message of this file', () => {
    assert.ok(messagesSeen.length > 40);
    for (const message of messagesSeen) {
      for (const canary of CANARIES) assert.ok(!message.includes(canary), `${canary} in: ${message}`);
      assert.ok(
        formatMessage({ ruleId: COMPONENT_PLAINTEXT_SECRETS_RULE_ID, message }).length <= MAX_WARNING_LENGTH,
        message,
      );
    }
  });
});
