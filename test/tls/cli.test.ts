import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const CLI = new URL('../../src/tls/cli.ts', import.meta.url).pathname;
const DAY = 24 * 60 * 60 * 1000;

function certs(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr.split('\n\nUsage:')[0] ?? '' };
}

function validityDays(path: string): number {
  const certificate = new X509Certificate(readFileSync(path));
  return Math.round((Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / DAY);
}

describe('npm run certs', () => {
  test('writes the three files, the CA valid longer than the serving certificate', () => {
    const out = mkdtempSync(join(tmpdir(), 'dapr-guard-certs-'));
    const run = certs('--service', 'dg', '--namespace', 'guard', '--out', out, '--validity-days', '30');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    assert.equal(validityDays(join(out, 'tls.crt')), 30);
    assert.equal(validityDays(join(out, 'ca.crt')), 3650);
    assert.match(
      new X509Certificate(readFileSync(join(out, 'tls.crt'))).subjectAltName ?? '',
      /IP Address:0:0:0:0:0:0:0:1/,
    );
  });

  test('refuses to overwrite existing files without --force, and replaces them with it', () => {
    const out = mkdtempSync(join(tmpdir(), 'dapr-guard-certs-'));
    writeFileSync(join(out, 'tls.crt'), 'mine');
    const refused = certs('--service', 'dg', '--namespace', 'guard', '--out', out);
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      `${join(out, 'tls.crt')} already exists; nothing was written — pass --force to replace them (a new CA: every caBundle made from the old one stops working), or choose another --out\n`,
    );
    assert.deepEqual(readdirSync(out), ['tls.crt']);
    assert.equal(readFileSync(join(out, 'tls.crt'), 'utf8'), 'mine');
    const forced = certs('--service', 'dg', '--namespace', 'guard', '--out', out, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(join(out, 'tls.crt'), 'utf8'), 'mine');
  });

  test('each argument problem is named on its own line; nothing is written', () => {
    const out = mkdtempSync(join(tmpdir(), 'dapr-guard-certs-'));
    const cases: [string[], string][] = [
      [
        ['--service', 'X_Y', '--namespace', 'guard'],
        '--service "X_Y" is not valid: expected a DNS label: a-z, 0-9 and "-", 1 to 63 characters, not starting or ending with "-"',
      ],
      [['--namespace', 'guard'], '--service is required'],
      [
        ['--service', 'dg', '--namespace', 'guard', '--dns-name', 'a.*.example.com', '--dns-name', '*.ok.example.com'],
        '--dns-name "a.*.example.com" is not valid: expected labels of a-z, 0-9 and "-" (1 to 63, not starting or ending with "-") separated by ".", "*." allowed only as the leftmost label',
      ],
      [
        ['--service', 'dg', '--namespace', 'guard', '--validity-days', '0'],
        '--validity-days must be a positive integer, got "0"',
      ],
      [
        ['--service', 'dg', '--namespace', 'guard', '--validity-days', '400', '--ca-validity-days', '365'],
        '--ca-validity-days (365) must be longer than --validity-days (400), so that the CA outlives the serving certificate',
      ],
    ];
    assert.equal(cases.length, 5);
    for (const [args, message] of cases) {
      const run = certs(...args, '--out', out);
      assert.deepEqual({ code: run.code, stderr: run.stderr }, { code: 2, stderr: message }, args.join(' '));
    }
    assert.deepEqual(readdirSync(out), []);
  });
});
