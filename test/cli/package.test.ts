import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { REPOSITORY } from './support.ts';

describe('npx dapr-guard check, from the packed npm package', () => {
  const directory = mkdtempSync(join(tmpdir(), 'check-package-'));
  after(() => rmSync(directory, { recursive: true, force: true }));

  test('the tarball (npm pack) holds what check needs, and its bin runs it', () => {
    const packed = spawnSync('npm', ['pack', '--pack-destination', directory, '--json'], {
      cwd: REPOSITORY,
      encoding: 'utf8',
    });
    assert.equal(packed.status, 0, packed.stderr);
    const tarball = readdirSync(directory).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball);
    // What `npm install` does with it, without the registry: unpack, link the bin, mark it executable.
    const installed = join(directory, 'consumer/node_modules/dapr-guard');
    mkdirSync(installed, { recursive: true });
    const unpacked = spawnSync('tar', ['-xzf', join(directory, tarball), '-C', installed, '--strip-components=1']);
    assert.equal(unpacked.status, 0, String(unpacked.stderr));
    symlinkSync(join(REPOSITORY, 'node_modules'), join(installed, 'node_modules'));
    mkdirSync(join(directory, 'consumer/node_modules/.bin'));
    symlinkSync('../dapr-guard/dist/main.js', join(directory, 'consumer/node_modules/.bin/dapr-guard'));
    chmodSync(join(installed, 'dist/main.js'), 0o755);
    const component =
      'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\nspec: {mtls: {enabled: false}}\n';
    const run = spawnSync('npx', ['--no-install', 'dapr-guard', 'check', '-'], {
      cwd: join(directory, 'consumer'),
      input: component,
      encoding: 'utf8',
      // The bin's `#!/usr/bin/env node` finds this Node 24 first, as it would on a machine with Node 24.
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
    });
    assert.equal(run.stderr, '');
    assert.equal(run.status, 1);
    assert.match(run.stdout, /^-:1: \[mtls-enabled\] \(enforce\) Configuration "c" sets spec.mtls.enabled: false/m);
  });
});
