import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isQuotableHeaderName, isQuotableMetadataName } from '../../../src/rules/support/field-names.ts';
import { LINEAR_BOUND_MS, MIB, timed } from '../../support/timing.ts';

describe('field names that a message may quote', () => {
  const cases: ReadonlyArray<readonly [string, boolean, boolean]> = [
    // name, as a metadata item name, as a header name
    ['redisPassword', true, true],
    ['x-api-key', true, true],
    ['tls.key', true, true],
    ['private_key', true, true],
    ['header:Authorization', true, false],
    ['dir/file', true, false],
    ['n'.repeat(64), true, true],
    ['n'.repeat(65), false, false],
    ['', false, false],
    ['X-Token: SECRET-HN1', false, false],
    ['X-Token:SECRET-HN2', false, false],
    ['header:X-Token:SECRET-HN3', false, false],
    ['Server=db;User Id=sa;Password=SECRET-SWAP', false, false],
    ['password=SECRET-EQ', false, false],
    ['user@SECRET-AT', false, false],
    ['pass\u202eword\nx', false, false],
    ['tab\tname', false, false],
  ];
  assert.equal(cases.length, 17);
  for (const [name, metadata, header] of cases) {
    it(JSON.stringify(name), () => {
      assert.equal(isQuotableMetadataName(name), metadata, 'metadata');
      assert.equal(isQuotableHeaderName(name), header, 'header');
    });
  }

  it('answers a MiB of name characters in linear time', () => {
    const { result, ms } = timed(() => [
      isQuotableMetadataName(`header:${'a'.repeat(MIB)}`),
      isQuotableHeaderName('a'.repeat(MIB)),
    ]);
    assert.deepEqual(result, [false, false]);
    assert.ok(ms < LINEAR_BOUND_MS, `${ms.toFixed(1)} ms`);
  });
});
