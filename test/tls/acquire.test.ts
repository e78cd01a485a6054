import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { caBundleOperations } from '../../src/tls/acquire.ts';

describe('self-managed TLS: the caBundle patch', () => {
  test('the caBundle patch sets every webhook that lacks it, each guarded by a test of its name', () => {
    const configuration = {
      webhooks: [
        { name: 'mutate.dapr-guard.io', clientConfig: {} },
        { name: 'validate.dapr-guard.io', clientConfig: { caBundle: 'QUJD' } },
        { name: 'dapr-resources.validate.dapr-guard.io', clientConfig: { caBundle: 'old' } },
      ],
    };
    assert.deepEqual(caBundleOperations(configuration, 'QUJD'), [
      { op: 'test', path: '/webhooks/0/name', value: 'mutate.dapr-guard.io' },
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'QUJD' },
      { op: 'test', path: '/webhooks/2/name', value: 'dapr-resources.validate.dapr-guard.io' },
      { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: 'QUJD' },
    ]);
    assert.deepEqual(caBundleOperations({ webhooks: [{ name: 'a', clientConfig: { caBundle: 'QUJD' } }] }, 'QUJD'), []);
  });
});
