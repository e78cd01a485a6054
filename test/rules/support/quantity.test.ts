import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quantityToScalar } from '@kubernetes/client-node/dist/util.js';
import {
  compareQuantities,
  isQuantity,
  MAX_QUANTITY_LENGTH,
  parseQuantity,
} from '../../../src/rules/support/quantity.ts';
import { LINEAR_BOUND_MS, MIB, timed } from '../../support/timing.ts';

// Accepted and refused inputs are those of k8s.io/apimachinery pkg/api/resource quantity_test.go
// (TestQuantityParse), plus the values Dapr's docs and this project use.
const VALID: ReadonlyArray<readonly [string, number | bigint]> = [
  ['0', 0],
  ['1', 1],
  ['4', 4],
  ['+1', 1],
  ['-1', -1],
  ['0.5', 0.5],
  ['.001', 0.001],
  ['1.', 1],
  ['100m', 0.1],
  ['500m', 0.5],
  ['5n', 5e-9],
  ['4u', 4e-6],
  ['8k', 8000n],
  ['7M', 7_000_000n],
  ['6G', 6_000_000_000n],
  ['1E', 10n ** 18n],
  ['1Ki', 1024n],
  ['250Mi', 250n * 1024n ** 2n],
  ['4000Mi', 4000n * 1024n ** 2n],
  ['3Ei', 3n * 1024n ** 6n],
  ['1e3', 1000],
  ['1E-3', 0.001],
  ['1.3E+6', 1_300_000],
  ['0.5e-1', 0.05],
  // Fractions with a k…E or Ki…Ei suffix: client-node's quantityToScalar throws on these.
  ['1.5Gi', 1.5 * 1024 ** 3],
  ['0.5Mi', 0.5 * 1024 ** 2],
  ['100.035Ki', 100.035 * 1024],
  ['.5Gi', 0.5 * 1024 ** 3],
  ['1.5k', 1500],
  ['2.5P', 2.5e15],
  ['1.G', 1e9],
  ['-1.5Gi', -1.5 * 1024 ** 3],
];

const INVALID: readonly string[] = [
  '',
  ' 4', // quantityToScalar accepts it: Number() trims
  '4 ',
  '12Mi ',
  '4 cores',
  '1.1.M',
  '1+1.0M',
  '0.1mi',
  '0.1am',
  'aoeu',
  '.5i',
  '1i',
  '-3.01i',
  '-3.01e-',
  '1e',
  '1K', // kilo is lower-case k
  '1mi',
  '1e3m',
  '0x10', // quantityToScalar accepts it: Number() reads hex
  'Infinity',
  '1_000',
  // ParseQuantity's scanner lets these digitless strings through as 0; the wrapper follows the
  // documented grammar instead (at least one digit), so they are refused on purpose.
  '.',
  '+',
  'e3',
];

describe('parseQuantity', () => {
  it('has the 32 valid and 24 invalid samples', () => assert.deepEqual([VALID.length, INVALID.length], [32, 24]));

  for (const [text, expected] of VALID) {
    it(`reads ${JSON.stringify(text)} as ${String(expected)}`, () => {
      const value = parseQuantity(text);
      assert.notEqual(value, undefined);
      assert.equal(compareQuantities(value ?? Number.NaN, expected), 0, `${String(value)} != ${String(expected)}`);
      assert.equal(isQuantity(text), true);
    });
  }

  for (const text of INVALID) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(parseQuantity(text), undefined);
      assert.equal(isQuantity(text), false);
    });
  }

  it('returns exactly what client-node quantityToScalar (which it replaced) returns wherever that one is right', () => {
    const agreed = VALID.filter(([text]) => !/^[+-]?\d*\.\d*(?:[KMGTPE]i|[kMGTPE])$/.test(text));
    assert.equal(agreed.length, 24);
    for (const [text] of agreed) assert.equal(parseQuantity(text), quantityToScalar(text), text);
  });

  it('closes the gaps of client-node quantityToScalar, which it replaced', () => {
    assert.equal(quantityToScalar(' 4'), 4);
    assert.equal(quantityToScalar(''), 0);
    assert.equal(quantityToScalar('0x10'), 16);
    assert.throws(() => quantityToScalar('1.5Gi'));
    assert.equal(parseQuantity(' 4'), undefined);
    assert.equal(parseQuantity(''), undefined);
    assert.equal(parseQuantity('0x10'), undefined);
    assert.equal(parseQuantity('1.5Gi'), 1.5 * 1024 ** 3);
  });
});

describe('the unambiguous grammar', () => {
  // The samples of the security review (2026-12, §1): the grammar without the ReDoS accepts and refuses
  // exactly what the old one did.
  const SAMPLES: ReadonlyArray<readonly [string, boolean]> = [
    ['1', true],
    ['1.', true],
    ['.5', true],
    ['1.5Gi', true],
    ['100m', true],
    ['4', true],
    ['-1', true],
    ['+1e3', true],
    ['1e-3', true],
    ['1.5.5', false],
    ['.', false],
    ['+', false],
    ['1ee3', false],
    ['1Ki ', false],
    ['Ki', false],
    ['0x10', false],
    ['1.0E+2', true],
    ['12.34k', true],
    ['5e', false],
  ];
  it('has the 19 samples of the review', () => assert.equal(SAMPLES.length, 19));
  for (const [text, accepted] of SAMPLES) {
    it(`${accepted ? 'accepts' : 'refuses'} ${JSON.stringify(text)}`, () => {
      assert.equal(isQuantity(text), accepted);
      assert.equal(parseQuantity(text) !== undefined, accepted);
    });
  }

  it(`accepts ${MAX_QUANTITY_LENGTH} characters and refuses one more, even when the grammar fits`, () => {
    assert.equal(MAX_QUANTITY_LENGTH, 64);
    assert.equal(parseQuantity('1'.repeat(64)) !== undefined, true);
    assert.equal(parseQuantity('1'.repeat(65)), undefined);
    assert.equal(parseQuantity(`${'1'.repeat(63)}Ki`), undefined);
  });

  describe('answers a megabyte in linear time', () => {
    const digits = '9'.repeat(MIB);
    const shapes: ReadonlyArray<readonly [string, string]> = [
      ['digits then x', `${digits}x`],
      ['digits (valid grammar)', digits],
      ['digits with a binary suffix (the BigInt path)', `${digits}Ki`],
      ['digits, a point, digits, then x', `${digits}.${digits}x`],
      ['an exponent of digits then x', `1e${digits}x`],
    ];
    for (const [name, text] of shapes) {
      it(name, () => {
        const { result, ms } = timed(() => parseQuantity(text));
        assert.equal(result, undefined);
        assert.ok(ms < LINEAR_BOUND_MS, `${ms.toFixed(1)} ms`);
      });
    }
  });
});

describe('compareQuantities', () => {
  const cases: ReadonlyArray<readonly [string, string, number]> = [
    ['100m', '1', -1],
    ['1', '1000m', 0],
    ['1.5', '1500m', 0],
    ['1Gi', '1024Mi', 0],
    ['1G', '1Gi', -1],
    ['1.5Gi', '1536Mi', 0],
    ['1.5Gi', '1Gi', 1],
    ['4000Mi', '4Gi', -1],
    ['250Mi', '1000Mi', -1],
    ['10000T', '100Gi', 1],
    ['1e3', '1k', 0],
    ['-1', '0', -1],
  ];
  for (const [a, b, expected] of cases) {
    it(`compares ${a} with ${b}: ${expected}`, () => {
      const left = parseQuantity(a);
      const right = parseQuantity(b);
      assert.ok(left !== undefined && right !== undefined);
      assert.equal(compareQuantities(left, right), expected);
    });
  }
});
