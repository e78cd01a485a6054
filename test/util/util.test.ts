import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asRecord, deepMerge, describeSetting, isRecord, nonEmpty } from '../../src/util/json.ts';
import { backoffDelayMs, describeError } from '../../src/util/retry.ts';
import { cut } from '../../src/util/text.ts';

describe('util/text cut', () => {
  const cases: ReadonlyArray<readonly [string, number, string]> = [
    ['abc', 3, 'abc'],
    ['abcd', 3, 'ab…'],
    ['', 1, ''],
  ];
  it('has 3 cases', () => assert.equal(cases.length, 3));
  for (const [text, max, expected] of cases)
    it(`${JSON.stringify(text)} at ${max}`, () => assert.equal(cut(text, max), expected));
});

describe('util/json', () => {
  it('tells JSON objects from arrays and null', () => {
    assert.deepEqual([{}, [], null, 'x', 1].map(isRecord), [true, false, false, false, false]);
    assert.deepEqual(asRecord({ a: 1 }), { a: 1 });
    assert.equal(asRecord([]), undefined);
  });

  it('nonEmpty drops empty strings only', () =>
    assert.deepEqual(['', undefined, 'a'].map(nonEmpty), [undefined, undefined, 'a']));

  it('deepMerge merges mappings and replaces anything else', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2] }), { a: { b: 1, c: 3 }, d: [2] });
  });

  it('describeSetting names a value without quoting more than a string', () => {
    assert.deepEqual(['x', null, [], {}, 3, true].map(describeSetting), [
      '"x"',
      'null',
      'a list',
      'a mapping',
      '3',
      'true',
    ]);
  });
});

describe('util/retry', () => {
  it('doubles from the initial delay, at most 64 times it and the maximum', () => {
    const backoff = { initialMs: 1000, maxMs: 60_000 };
    assert.deepEqual(
      [1, 2, 3, 6, 7, 8, 100].map((failure) => backoffDelayMs(failure, backoff)),
      [1000, 2000, 4000, 32_000, 60_000, 60_000, 60_000],
    );
    assert.deepEqual(
      [1, 7, 8].map((failure) => backoffDelayMs(failure, { initialMs: 500, maxMs: 60_000 })),
      [500, 32_000, 32_000],
    );
  });

  it('describes an error by its message and numeric code', () => {
    assert.deepEqual(describeError(Object.assign(new Error('gone'), { code: 404 })), { message: 'gone', code: 404 });
    assert.deepEqual(describeError(Object.assign(new Error('io'), { code: 'EIO' })), { message: 'io' });
    assert.deepEqual(describeError('text'), { message: 'text' });
  });
});
