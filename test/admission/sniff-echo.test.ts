import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sniffEcho } from '../../src/admission/sniff-echo.ts';

const text = (value: string): Uint8Array => Buffer.from(value);

describe('sniffEcho', () => {
  test('reads uid and apiVersion from the start of a body as the API server writes it', () => {
    const head =
      '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"705ab4f5-6393-11e8","kind":{"group":"","version":"v1","kind":"Pod"}';
    assert.deepEqual(sniffEcho(text(`${head}${' '.repeat(8 * 1024 * 1024)}`)), {
      uid: '705ab4f5-6393-11e8',
      apiVersion: 'admission.k8s.io/v1beta1',
    });
  });

  test('an object apiVersion or a nested uid is not taken for the envelope', () => {
    const body = '{"request":{"kind":{"kind":"Pod"},"object":{"apiVersion":"v1","metadata":{"uid":"not-this"}}}}';
    assert.deepEqual(sniffEcho(text(body)), { uid: '', apiVersion: 'admission.k8s.io/v1' });
  });

  test('a uid past the first 4 KiB is not looked for', () => {
    assert.equal(sniffEcho(text(`{"pad":"${'x'.repeat(5000)}","request":{"uid":"late"}}`)).uid, '');
  });

  test('linear on hostile input: 8 MiB of near-matches in well under 50 ms', () => {
    const hostile = text(`${'"request" :  {  "uid"  :  x'.repeat(300_000)}${'"request":{'}${' '.repeat(1024 * 1024)}`);
    const started = performance.now();
    assert.equal(sniffEcho(hostile).uid, '');
    assert.ok(performance.now() - started < 50, `took ${performance.now() - started} ms`);
  });
});
