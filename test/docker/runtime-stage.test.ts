import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeServingBundle } from '../../src/tls/files.ts';
import { getHttp1 } from '../support/server.ts';
import { freePort, spawnNode, type Spawned } from '../support/process.ts';
import { parseDockerfile, replayStages, type ReplayedStage } from './dockerfile.ts';

const REPOSITORY = new URL('../../', import.meta.url).pathname;
const stages = parseDockerfile(readFileSync(join(REPOSITORY, 'Dockerfile'), 'utf8'));
/** The distroless image's node; the replay runs the project's own Node 24 in its place. */
const IMAGE_NODE = '/nodejs/bin/node';

/** The README's `docker run` command: its flags, environment and mounts, continuation lines joined. */
interface DockerRun {
  readonly flags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly mounts: Readonly<Record<string, string>>;
  readonly image: string;
}

function readmeDockerRun(): DockerRun {
  const readme = readFileSync(join(REPOSITORY, 'README.md'), 'utf8');
  const found = /^docker run (?:.*\\\n)*.*$/m.exec(readme);
  assert.ok(found, 'README.md shows a docker run command');
  const words = (found[0].replace(/\\\n/g, ' ').match(/"[^"]*"|\S+/g) ?? []).slice(2);
  const run = { flags: [] as string[], env: {} as Record<string, string>, mounts: {} as Record<string, string> };
  for (let at = 0; at < words.length - 1; at += 1) {
    const word = words[at] ?? '';
    const value = (words[at + 1] ?? '').replace(/^"|"$/g, '');
    if (word === '-e') {
      const [key = '', ...rest] = value.split('=');
      run.env[key] = rest.join('=');
    } else if (word === '-v') {
      const [host = '', container = ''] = value.split(':');
      run.mounts[container] = host;
    } else if (word === '-p' || word === '--user') {
      run.flags.push(word);
    } else {
      run.flags.push(word);
      continue;
    }
    at += 1;
  }
  return { ...run, image: words.at(-1) ?? '' };
}

describe('Dockerfile', () => {
  test('multi-stage, Node 24 everywhere, distroless non-root runtime exposing 8443 and 9090', () => {
    assert.deepEqual(
      stages.map((stage) => [stage.name, stage.base]),
      [
        ['build', 'node:24-bookworm-slim'],
        ['deps', 'node:24-bookworm-slim'],
        ['runtime', 'gcr.io/distroless/nodejs24-debian12:nonroot'],
      ],
    );
    const runtime = stages.at(-1);
    const keywords = (keyword: string): string[][] =>
      (runtime?.instructions ?? []).filter((i) => i.keyword === keyword).map((i) => [...i.args]);
    assert.deepEqual(keywords('USER'), [['65532:65532']]);
    assert.deepEqual(keywords('EXPOSE'), [['8443', '9090']]);
    assert.deepEqual(keywords('ENTRYPOINT'), [[IMAGE_NODE, 'dist/main.js']]);
    assert.ok(
      stages
        .find((stage) => stage.name === 'deps')
        ?.instructions.some((i) => i.keyword === 'RUN' && i.args[0]?.startsWith('npm ci --omit=dev')),
    );
  });

  describe('the runtime stage, replayed without a Docker engine', () => {
    let runtime: ReplayedStage;
    let webhook: Spawned | undefined;
    before(() => {
      runtime = replayStages(stages, REPOSITORY).get('runtime') as ReplayedStage;
    });
    after(async () => {
      webhook?.child.kill('SIGTERM');
      await webhook?.exited;
    });

    test('has production dependencies only', () => {
      const app = join(runtime.root, runtime.workdir);
      assert.doesNotThrow(() => readFileSync(join(app, 'node_modules/fastify/package.json')));
      assert.throws(() => readFileSync(join(app, 'node_modules/typescript/package.json')), /ENOENT/);
      assert.throws(() => readFileSync(join(app, 'node_modules/node/package.json')), /ENOENT/);
    });

    test("runs with the README's docker run settings: certificates generated into the mount, then reused", async () => {
      const run = readmeDockerRun();
      assert.deepEqual(run.flags, ['--rm', '--read-only', '--user', '-p', '-p']);
      assert.deepEqual(run.mounts, { '/certs': '$PWD/docker-certs' });
      assert.deepEqual(Object.keys(run.env).sort(), [
        'DAPR_GUARD_HOST',
        'DAPR_GUARD_METRICS_HOST',
        'DAPR_GUARD_TLS_CA',
        'DAPR_GUARD_TLS_CERT',
        'DAPR_GUARD_TLS_KEY',
      ]);
      assert.equal(run.image, 'dapr-guard:dev');
      const app = join(runtime.root, runtime.workdir);
      chmodSync(app, 0o555);
      // The mount: /certs in the container is a fresh folder of the user's (`mkdir -p docker-certs`).
      const mounted = mkdtempSync(join(tmpdir(), 'dapr-guard-docker-certs-'));
      const env = Object.fromEntries(
        Object.entries(run.env).map(([key, value]) => [key, value.replace(/^\/certs\//, `${mounted}/`)]),
      );
      const [, ...args] = runtime.entrypoint;
      for (const round of ['generates', 'reuses']) {
        const port = await freePort();
        const started = spawnNode(args, {
          cwd: app,
          env: {
            ...runtime.env,
            ...env,
            DAPR_GUARD_PORT: String(port),
            DAPR_GUARD_METRICS_PORT: String(await freePort()),
            KUBECONFIG: '',
            HOME: mounted,
          },
        });
        try {
          await started.waitFor(/dapr-guard is serving/, 20_000);
          assert.deepEqual(
            ['ca.crt', 'tls.crt', 'tls.key'].map((file) => existsSync(join(mounted, file))),
            [true, true, true],
            round,
          );
          // curl --cacert docker-certs/ca.crt https://localhost:8443/readyz
          const ready = await getHttp1(`https://localhost:${port}`, '/readyz', readFileSync(join(mounted, 'ca.crt')));
          assert.deepEqual([ready.status, JSON.parse(ready.body)], [200, { status: 'ok' }], round);
        } finally {
          started.child.kill('SIGTERM');
          await started.exited;
        }
      }
    });

    test('dapr-guard check runs in the image: standard input, and a mounted folder fixed in place', async () => {
      const app = join(runtime.root, runtime.workdir);
      chmodSync(app, 0o555);
      const [, ...args] = runtime.entrypoint;
      const run = async (extra: readonly string[], stdin = ''): Promise<{ code: number | null; stdout: string }> => {
        const started = spawnNode([...args, 'check', ...extra], { cwd: app, env: { ...runtime.env, HOME: tmpdir() } });
        started.child.stdin?.end(stdin);
        const { code } = await started.exited;
        return { code, stdout: started.stdout() };
      };
      // docker run --rm -i dapr-guard:dev check - < default-ns.yaml
      const rendered = readFileSync(join(REPOSITORY, 'test/fixtures/dapr-manifests/rendered/default-ns.yaml'), 'utf8');
      const piped = await run(['-'], rendered);
      assert.equal(piped.code, 1);
      assert.match(
        piped.stdout,
        /^dapr-guard check failed: 40 objects in 1 file; violations: 33 enforce, 8 warn, 0 audit;/m,
      );
      // docker run --rm -v "$PWD/k8s:/work" dapr-guard:dev check --fix /work
      const mounted = mkdtempSync(join(tmpdir(), 'dapr-guard-docker-check-'));
      cpSync(join(REPOSITORY, 'test/fixtures/check/manifests/node.yaml'), join(mounted, 'node.yaml'));
      const fixed = await run(['--fix', mounted]);
      assert.equal(fixed.code, 0);
      assert.match(readFileSync(join(mounted, 'node.yaml'), 'utf8'), /^ {8}dapr\.io\/sidecar-memory-limit: "4000Mi"$/m);
      const again = await run([mounted]);
      assert.match(again.stdout, /; 0 would-be changes$/m);
    });

    test('starts from a read-only /app with mounted certificates and reports ready', async () => {
      const app = join(runtime.root, runtime.workdir);
      chmodSync(app, 0o555);
      const certs = mkdtempSync(join(tmpdir(), 'dapr-guard-mounted-tls-'));
      writeServingBundle({
        caFile: join(certs, 'ca.crt'),
        certFile: join(certs, 'tls.crt'),
        keyFile: join(certs, 'tls.key'),
        dnsNames: [],
        serviceName: '',
        serviceNamespace: '',
        validityDays: 1,
      });
      const [command, ...args] = runtime.entrypoint;
      assert.equal(command, IMAGE_NODE);
      const port = await freePort();
      webhook = spawnNode(args, {
        cwd: app,
        env: {
          ...runtime.env,
          DAPR_GUARD_PORT: String(port),
          DAPR_GUARD_METRICS_PORT: String(await freePort()),
          DAPR_GUARD_TLS_CERT: join(certs, 'tls.crt'),
          DAPR_GUARD_TLS_KEY: join(certs, 'tls.key'),
          DAPR_GUARD_TLS_GENERATE: 'false',
          KUBECONFIG: '',
          HOME: certs,
        },
      });
      await webhook.waitFor(/dapr-guard is serving/, 20_000);
      const ready = await getHttp1(`https://127.0.0.1:${port}`, '/readyz', readFileSync(join(certs, 'ca.crt')));
      assert.deepEqual([ready.status, JSON.parse(ready.body)], [200, { status: 'ok' }]);
    });
  });
});
