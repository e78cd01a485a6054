import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DECLARED_SENSITIVE_FIELDS } from '../../../src/rules/data/sensitive-fields.ts';
import { declaredSensitiveFields, isKnownNotSecret } from '../../../src/rules/support/sensitive-fields.ts';

describe('declared sensitive fields', () => {
  it('has every registered spec.type of the reference data, lower-case', () => {
    const types = Object.keys(DECLARED_SENSITIVE_FIELDS);
    assert.equal(types.length, 154);
    assert.deepEqual(
      types.filter((type) => type !== type.toLowerCase()),
      [],
    );
    assert.equal(types.filter((type) => DECLARED_SENSITIVE_FIELDS[type]?.length === 0).length, 61);
  });

  const cases: ReadonlyArray<[string, string, boolean]> = [
    ['state.redis', 'redispassword', true],
    ['STATE.REDIS', 'redispassword', true],
    ['bindings.rabbitmq', 'host', true],
    ['state.postgresql', 'host', false],
    ['state.postgresql', 'url', true],
    ['state.postgres', 'url', true],
    ['bindings.postgresql', 'url', true],
    ['state.sqlserver', 'url', true],
    ['state.sqlite', 'url', false],
    ['bindings.gcp.bucket', 'private_key', true],
    ['bindings.gcp.bucket', 'private_key_id', true],
    ['bindings.gcp.pubsub', 'private_key', true],
    ['secretstores.gcp.secretmanager', 'private_key', true],
    ['state.gcp.firestore', 'private_key', false],
    ['bindings.unknown', 'password', false],
  ];
  for (const [type, field, expected] of cases) {
    it(`${type} ${field}: ${expected}`, () => assert.equal(declaredSensitiveFields(type).has(field), expected));
  }
});

describe('isKnownNotSecret', () => {
  it('SQLite connection strings are file names', () => {
    assert.equal(isKnownNotSecret('state.sqlite', 'connectionString'), true);
    assert.equal(isKnownNotSecret('State.SQLite3', 'URL'), true);
    assert.equal(isKnownNotSecret('state.postgresql', 'connectionString'), false);
  });
});
