import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clipText, fitMessage, messageBudget } from '../../../src/rules/support/messages.ts';

describe('messages', () => {
  it('budget leaves room for the [rule-id] prefix within 256 characters', () => {
    assert.equal(messageBudget('mtls-enabled'), 256 - '[mtls-enabled] '.length);
  });

  it('clips and keeps text on one line', () => {
    assert.equal(clipText('short', 8), 'short');
    assert.equal(clipText('abcdefghij', 5), 'abcd…');
    assert.equal(clipText('a\nb\tc', 10), 'a?b?c');
  });

  it('clips the object-supplied parts only as much as needed', () => {
    const render = (clip: (text: string) => string): string => `Component "${clip('n'.repeat(100))}" is wrong — fix it`;
    assert.equal(fitMessage(render, 500), `Component "${'n'.repeat(63)}…" is wrong — fix it`);
    assert.equal(fitMessage(render, 62), `Component "${'n'.repeat(31)}…" is wrong — fix it`);
    assert.equal(fitMessage(render, 20).length, 20);
  });
});
