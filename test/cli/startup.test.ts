import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { spawnNode } from '../support/process.ts';
import { REPOSITORY } from './support.ts';

const MAIN = join(REPOSITORY, 'dist/main.js');

async function runMain(args: readonly string[], env: NodeJS.ProcessEnv = {}, stdin = '') {
  const spawned = spawnNode([...args], { cwd: REPOSITORY, env });
  spawned.child.stdin?.end(stdin);
  const { code } = await spawned.exited;
  return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

describe('dapr-guard check from dist/main.js', () => {
  const directory = mkdtempSync(join(tmpdir(), 'check-modules-'));
  after(() => rmSync(directory, { recursive: true, force: true }));

  test('loads neither the server (Fastify, pino) nor the Kubernetes client', async () => {
    const record = join(directory, 'modules.txt');
    const hook = join(REPOSITORY, 'test/cli/record-modules.ts');
    const { code } = await runMain(['--import', hook, MAIN, 'check', 'test/fixtures/check/manifests'], {
      RECORD_MODULES_TO: record,
    });
    assert.equal(code, 1);
    const modules = readFileSync(record, 'utf8').trim().split('\n');
    // The recorder works: the review core and yaml were loaded.
    assert.ok(modules.some((url) => url.endsWith('/dist/webhook/review-object.js')));
    assert.ok(modules.some((url) => url.includes('/node_modules/yaml/')));
    const heavy = modules.filter((url) =>
      /\/node_modules\/(?:fastify|pino|@kubernetes\/client-node|node-forge|prom-client)\/|\/dist\/(?:server|kube|tls)\//.test(
        url,
      ),
    );
    assert.deepEqual(heavy, []);
  });

  test('standard input through the real process: helm template … | dapr-guard check -', async () => {
    const rendered = readFileSync(join(REPOSITORY, 'test/fixtures/dapr-manifests/rendered/default-ns.yaml'), 'utf8');
    const { code, stdout, stderr } = await runMain([MAIN, 'check', '-'], {}, rendered);
    assert.equal(stderr, '');
    assert.equal(code, 1);
    assert.match(
      stdout,
      /^-:1461: \[control-plane-namespace\] \(enforce\) Dapr MutatingWebhookConfiguration "dapr-sidecar-injector" calls a Service in namespace "default"/m,
    );
    assert.match(stdout, /^dapr-guard check failed: 40 objects in 1 file; violations: 33 enforce, 8 warn, 0 audit;/m);
  });

  test('a reader that stops early (| head -1) ends it quietly', async () => {
    const spawned = spawnNode([MAIN, 'check', 'test/fixtures/dapr-corpus'], { cwd: REPOSITORY });
    spawned.child.stdout?.once('data', () => spawned.child.stdout?.destroy());
    const { code } = await spawned.exited;
    assert.equal(spawned.stderr(), '');
    assert.ok(code === 0 || code === 1, String(code));
  });

  test('dapr-guard --help names the subcommands; dapr-guard check --help its flags', async () => {
    const main = await runMain([MAIN, '--help']);
    assert.equal(main.code, 0);
    assert.match(main.stdout, /^ {7}dapr-guard <command> \[options\] \[arguments\]$/m);
    assert.match(
      main.stdout,
      /^Commands \(dapr-guard <command> --help for their own flags\):\n {2}check\n {6}Review manifest files/m,
    );
    const check = await runMain([MAIN, 'check', '--help']);
    assert.equal(check.code, 0);
    assert.match(check.stdout, /^Usage: dapr-guard check \[flags\] PATH\.\.\.$/m);
    assert.match(check.stdout, /^ {2}-o, --output text\|json\|sarif\|junit$/m);
  });
});
