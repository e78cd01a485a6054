import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  embeddedCredential,
  isCredentialName,
  plaintextState,
  searchableText,
} from '../../../src/rules/support/credentials.ts';

describe('isCredentialName', () => {
  const credentials = [
    'password',
    'redisPassword',
    'vaultToken',
    'clientSecret',
    'accessKey',
    'private_key',
    'connectionString',
    'azureCertificate',
    'privateKeyPassphrase',
    'jwt',
    'seedKey',
    'header:x-hasura-access-key',
    'header:Authorization',
    'Authorization',
    'PROXY-AUTHORIZATION',
    'Cookie',
    'x-api-key',
    'X-Auth-Token',
    'x-honeycomb-team',
    'Pwd',
    'sig',
    'access_token',
  ];
  for (const name of credentials) it(`${name} is one`, () => assert.equal(isCredentialName(name), true));

  const others = [
    'keyPrefix',
    'keyPrefixPath',
    'actorStateStore',
    'secretsFile',
    'vaultTokenMountPath',
    'tokenURL',
    'token_uri',
    'oidcTokenEndpoint',
    'securityTokenHeader',
    'tokenAudience',
    'tokenScope',
    'keyLength',
    'keyType',
    'token_type',
    'oauth2TokenCAPEM',
    'publicKey',
    'hostPublicKey',
    'keys',
    'keyspace',
    'partitionKey',
    'maxTokens',
    'insecureIgnoreHostKey',
    'accessKeyId',
    'private_key_id',
    'key-id',
    'SharedAccessKeyName',
    'Idempotency-Key',
    'Content-Type',
    'redisHost',
    'header:Content-Type',
    '',
  ];
  for (const name of others) it(`"${name}" is not`, () => assert.equal(isCredentialName(name), false));
});

describe('embeddedCredential', () => {
  const cases: ReadonlyArray<[string, ReturnType<typeof embeddedCredential>]> = [
    ['amqp://guest:guest@rabbitmq:5672', 'url'],
    ['redis://:secret@redis:6379/0', 'url'],
    ['tcp://[username][:password]@host.domain[:port]', 'url'],
    ['mongodb://u:p@db1:27017,db2:27017/?replicaSet=rs0', 'url'],
    ['kafka://k1:9092,kafka://u:p@k2:9092', 'url'],
    ['https://oapi.example.com/robot/send?access_token=abc', 'url'],
    ['https://trace.example.com/v1?Api-Key=<KEY>&Data-Format=zipkin', 'url'],
    ['https://acct.blob.core.windows.net/c?sv=2020-08-04&sig=abc%3D', 'url'],
    ['see https://u:p@h and more', 'url'],
    ['host=localhost user=postgres password=example port=5432', 'connection-string'],
    ['Server=db;Database=orders;User Id=sa;Password=x;', 'connection-string'],
    ['Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=abc', 'connection-string'],
    ['DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc', 'connection-string'],
    ['https://user@git.example.com/repo.git', undefined],
    ['https://user:@git.example.com/', undefined],
    ['https://api.example.com:8443/path@v1', undefined],
    ['https://api.example.com/?token_type=bearer&scope=read', undefined],
    ['https://api.example.com/?token=', undefined],
    ['host=db port=5432 sslmode=require', undefined],
    ['password=', undefined],
    ['localhost:6379', undefined],
    ['user:password', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of cases)
    it(`${JSON.stringify(text)} → ${expected}`, () => assert.equal(embeddedCredential(text), expected));

  it('stays linear on megabyte values built to make a regular expression backtrack', () => {
    const started = performance.now();
    for (const text of [
      'a'.repeat(2_000_000),
      '://'.repeat(700_000),
      `x://${'a:'.repeat(1_000_000)}`,
      `${'a://?'.repeat(400_000)}`,
      `${'k='.repeat(1_000_000)}`,
    ]) {
      embeddedCredential(text);
    }
    assert.ok(performance.now() - started < 5_000);
  });
});

describe('plaintextState', () => {
  const cases: ReadonlyArray<[Record<string, unknown>, ReturnType<typeof plaintextState>]> = [
    [{ name: 'a', secretKeyRef: { name: 's', key: 'k' } }, 'absent'],
    [{ name: 'a', envRef: 'A' }, 'absent'],
    [{ name: 'a' }, 'absent'],
    [{ name: 'a', value: '' }, 'empty'],
    [{ name: 'a', value: null }, 'empty'],
    [{ name: 'a', value: [] }, 'empty'],
    [{ name: 'a', value: {} }, 'empty'],
    [{ name: 'a', value: 'x' }, 'present'],
    [{ name: 'a', value: 0 }, 'present'],
    [{ name: 'a', value: false }, 'present'],
    [{ name: 'a', value: ['x'] }, 'present'],
  ];
  for (const [holder, expected] of cases)
    it(`${JSON.stringify(holder)} → ${expected}`, () => assert.equal(plaintextState(holder), expected));
});

describe('searchableText', () => {
  it('strings as they are, the string leaves of objects one per line in document order, nothing for scalars', () => {
    assert.equal(searchableText('a'), 'a');
    assert.equal(searchableText({ url: 'amqp://u:p@h' }), 'amqp://u:p@h');
    assert.equal(searchableText({ a: ['x', { b: 'y', n: 1 }], c: 'z' }), 'x\ny\nz');
  });

  it('walks a thousand-deep nesting and a huge array without recursion or a spread', () => {
    let deep: unknown = 'redis://u:p@h';
    for (let depth = 0; depth < 10_000; depth += 1) deep = [deep];
    assert.equal(searchableText(deep), 'redis://u:p@h');
    assert.equal(searchableText({ v: Array.from({ length: 300_000 }, () => 'a') })?.length, 599_999);
  });

  it('is undefined for scalars', () => {
    assert.equal(searchableText(42), undefined);
    assert.equal(searchableText(true), undefined);
    assert.equal(searchableText(null), undefined);
  });
});
