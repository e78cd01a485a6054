import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clipText, fitMessage, messageBudget, quoteText } from '../../../src/rules/support/messages.ts';
import { LINEAR_BOUND_MS, MIB, timed } from '../../support/timing.ts';

describe('messages', () => {
  it('budget leaves room for the [rule-id] prefix within 256 characters', () => {
    assert.equal(messageBudget('mtls-enabled'), 256 - '[mtls-enabled] '.length);
  });

  it('clips and keeps text on one line', () => {
    assert.equal(clipText('short', 8), 'short');
    assert.equal(clipText('abcdefghij', 5), 'abcd…');
    assert.equal(clipText('a\nb\tc', 10), 'a\\nb\\tc');
  });

  describe('escapes what would break a line, hide text or reorder it', () => {
    const cases: ReadonlyArray<readonly [string, string, string]> = [
      ['C0 with short escapes', 'a\nb\rc\td', 'a\\nb\\rc\\td'],
      ['C0 and DEL', '\u0000\u0001\u001b\u001f\u007f', '\\u0000\\u0001\\u001b\\u001f\\u007f'],
      ['C1, U+0085 (NEL) among them', '\u0080\u0085\u009b\u009f', '\\u0080\\u0085\\u009b\\u009f'],
      ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
      [
        'bidi marks and embeddings',
        '\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e',
        '\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u202e',
      ],
      ['bidi isolates', '\u2066\u2067\u2068\u2069', '\\u2066\\u2067\\u2068\\u2069'],
      ['lone surrogates', 'a\ud83db\ude00', 'a\\ud83db\\ude00'],
      ['printable text beyond ASCII stays', 'st\u00f6re-\u{1F600}-\u00a0-\u4e2d', 'st\u00f6re-\u{1F600}-\u00a0-\u4e2d'],
      ["the review's forged name", 'pass\u202eword\nx', 'pass\\u202eword\\nx'],
    ];
    assert.equal(cases.length, 9);
    for (const [name, text, expected] of cases) {
      it(name, () => assert.equal(clipText(text, 64), expected));
    }
  });

  describe('cuts between characters, never inside an escape or a surrogate pair', () => {
    const cases: ReadonlyArray<readonly [string, number, string]> = [
      ['ab\u202ecd', 5, 'ab…'],
      ['ab\u202ecd', 10, 'ab\\u202ecd'],
      ['a\u{1F600}b', 3, 'a…'],
      ['a\u{1F600}b', 4, 'a\u{1F600}b'],
      ['\n\n\n', 4, '\\n…'],
    ];
    assert.equal(cases.length, 5);
    for (const [text, max, expected] of cases) {
      it(`${JSON.stringify(text)} at ${max}`, () => {
        const clipped = clipText(text, max);
        assert.equal(clipped, expected);
        assert.ok(clipped.length <= max);
      });
    }
  });

  it('quotes with the quote and the backslash escaped too', () => {
    assert.equal(quoteText('say "hi" \\ \u202e', 40), '"say \\"hi\\" \\\\ \\u202e"');
    assert.equal(quoteText('x'.repeat(50), 40), `"${'x'.repeat(39)}…"`);
  });

  describe('reads only what fits, whatever the length of the text', () => {
    const shapes: ReadonlyArray<readonly [string, string]> = [
      ['a MiB of letters', 'n'.repeat(MIB)],
      ['a MiB of bidi controls', '\u202e'.repeat(MIB)],
      ['a MiB of newlines', '\n'.repeat(MIB)],
    ];
    for (const [name, text] of shapes) {
      it(name, () => {
        const { result, ms } = timed(() => [clipText(text, 64), quoteText(text, 40)]);
        assert.equal(result[0]?.endsWith('…'), true);
        assert.ok(ms < LINEAR_BOUND_MS, `${ms.toFixed(1)} ms`);
      });
    }
  });

  it('clips the object-supplied parts only as much as needed', () => {
    const render = (clip: (text: string) => string): string => `Component "${clip('n'.repeat(100))}" is wrong — fix it`;
    assert.equal(fitMessage(render, 500), `Component "${'n'.repeat(63)}…" is wrong — fix it`);
    assert.equal(fitMessage(render, 62), `Component "${'n'.repeat(31)}…" is wrong — fix it`);
    assert.equal(fitMessage(render, 20).length, 20);
  });
});
