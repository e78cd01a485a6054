import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
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
