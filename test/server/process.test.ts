import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { once } from 'node:events';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { AdmissionReview } from '../../src/admission/wire.ts';
import { fixtureText, jsonFixture } from '../support/fixtures.ts';
import { freePort, spawnNode } from '../support/process.ts';

const MAIN = new URL('../../dist/main.js', import.meta.url).pathname;
const PAYMENTS = fixtureText('reviews/pod-create-payments.json');
const PAYMENTS_UID = jsonFixture<AdmissionReview>('reviews/pod-create-payments.json').request?.uid;

async function startInTempDir(extraArgs: readonly string[] = []) {
  const cwd = mkdtempSync(join(tmpdir(), 'dapr-guard-run-'));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const spawned = spawnNode([MAIN, '--port', String(port), '--metrics-port', String(metricsPort), ...extraArgs], {
    cwd,
    env: { KUBECONFIG: '', HOME: cwd },
  });
  await spawned.waitFor(/dapr-guard is serving/);
  return { ...spawned, cwd, port, ca: () => readFileSync(join(cwd, 'certs/ca.crt')) };
}

/** The messages of the JSON log lines at warn level or above (pino: 40 and up). */
function warningsLogged(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { msg: string; level: number })
    .filter((line) => line.level >= 40)
    .map((line) => line.msg);
}

describe('dapr-guard process (dist/main.js)', () => {
  test('first run without a cluster: generates a CA and certificate into certs/ and prints a curl example that works', async () => {
    const run = await startInTempDir();
    try {
      for (const name of ['ca.crt', 'tls.crt', 'tls.key']) assert.ok(existsSync(join(run.cwd, 'certs', name)), name);
      await run.waitFor(/curl --cacert/);
      assert.match(
        run.stderr(),
        new RegExp(
          `dapr-guard is listening on https://127\\.0\\.0\\.1:${run.port} \\(CA certificate: certs/ca\\.crt\\)`,
        ),
      );
      const curlLine = run
        .stderr()
        .split('\n')
        .find((line) => line.trim().startsWith('curl '));
      assert.ok(curlLine !== undefined);
      const output = execFileSync('sh', ['-c', curlLine.trim() + ' --silent --show-error'], {
        cwd: run.cwd,
        encoding: 'utf8',
      });
      const review = JSON.parse(output) as AdmissionReview;
      assert.equal(review.response?.allowed, true);
      assert.equal(review.response?.patchType, 'JSONPatch');
      assert.match(
        run.stdout(),
        /namespace mode labels are not watched \(no cluster access\); the global mode applies in every namespace/,
      );
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  test('a second run reuses the certificates it generated', async () => {
    const first = await startInTempDir();
    first.child.kill('SIGTERM');
    await first.exited;
    const ca = readFileSync(join(first.cwd, 'certs/ca.crt'));
    const second = spawnNode([MAIN, '--port', String(await freePort()), '--metrics-port', String(await freePort())], {
      cwd: first.cwd,
      env: { KUBECONFIG: '', HOME: first.cwd },
    });
    await second.waitFor(/dapr-guard is serving/);
    assert.doesNotMatch(second.stdout(), /generated a self-signed CA/);
    assert.deepEqual(readFileSync(join(first.cwd, 'certs/ca.crt')), ca);
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });

  test('SIGTERM: an in-flight HTTP/1.1 review is finished, then the process exits 0', async () => {
    const run = await startInTempDir();
    const body = Buffer.from(PAYMENTS);
    const response = new Promise<string>((resolve, reject) => {
      const request = httpsRequest(
        {
          host: '127.0.0.1',
          port: run.port,
          path: '/mutate',
          method: 'POST',
          ca: run.ca(),
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (incoming) => {
          let text = '';
          incoming.on('data', (chunk: Buffer) => (text += chunk.toString()));
          incoming.on('end', () => resolve(text));
        },
      );
      request.on('error', reject);
      request.write(body.subarray(0, 100));
      request.on('socket', (socket) =>
        socket.once('secureConnect', () =>
          setTimeout(() => {
            run.child.kill('SIGTERM');
            setTimeout(() => request.end(body.subarray(100)), 300);
          }, 100),
        ),
      );
    });
    const text = await response;
    assert.equal((JSON.parse(text) as AdmissionReview).response?.uid, PAYMENTS_UID);
    const { code } = await run.exited;
    assert.equal(code, 0);
    assert.match(run.stdout(), /"msg":"stopped"/);
  });

  test('SIGTERM: an in-flight HTTP/2 stream is finished, then the process exits 0', async () => {
    const run = await startInTempDir();
    const session = http2Connect(`https://127.0.0.1:${run.port}`, { ca: run.ca() });
    const stream = session.request({ ':method': 'POST', ':path': '/validate', 'content-type': 'application/json' });
    const text = new Promise<string>((resolve, reject) => {
      let body = '';
      stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
      stream.on('end', () => resolve(body));
      stream.on('error', reject);
    });
    stream.write(PAYMENTS.slice(0, 200));
    await new Promise((resolve) => setTimeout(resolve, 200));
    run.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    stream.end(PAYMENTS.slice(200));
    assert.equal((JSON.parse(await text) as AdmissionReview).response?.uid, PAYMENTS_UID);
    session.close();
    assert.equal((await run.exited).code, 0);
  });

  test('SIGTERM with idle connections open (TLS without a request, an HTTP/2 session, an HTTP/1.1 keep-alive): exits 0 at once, not after the grace period', async () => {
    const run = await startInTempDir(['--shutdown-grace-period-seconds', '60']);
    const ca = run.ca();
    const bare = tlsConnect({ host: '127.0.0.1', port: run.port, ca, servername: 'localhost' });
    await once(bare, 'secureConnect');
    const session = http2Connect(`https://127.0.0.1:${run.port}`, { ca });
    await once(session, 'connect');
    const agent = new HttpsAgent({ keepAlive: true, ca });
    await new Promise<void>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: run.port, path: '/healthz', agent }, (response) =>
        response.resume().on('end', () => resolve()),
      )
        .on('error', reject)
        .end();
    });
    const started = Date.now();
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.doesNotMatch(run.stdout(), /grace period over/);
    bare.destroy();
    session.destroy();
    agent.destroy();
  });

  test('namespace modes on without cluster credentials: says once what is missing, live at once, not ready with the reason, SIGTERM exits 0', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dapr-guard-nocluster-'));
    const [port, metricsPort] = [await freePort(), await freePort()];
    const args = ['--port', String(port), '--metrics-port', String(metricsPort), '--namespace-modes', 'kubernetes'];
    const run = spawnNode([MAIN, ...args], {
      cwd,
      env: { KUBECONFIG: '', HOME: cwd, KUBERNETES_SERVICE_HOST: undefined },
    });
    const missing =
      'namespaceModes.source=kubernetes needs the Kubernetes API, but no cluster credentials were found: no in-cluster ServiceAccount token (KUBERNETES_SERVICE_HOST and /var/run/secrets/kubernetes.io/serviceaccount/token), no KUBECONFIG and no ~/.kube/config — run in a pod with a ServiceAccount, set KUBECONFIG, or set namespaceModes.source=off (--namespace-modes off)';
    try {
      await run.waitFor(/dapr-guard is serving/);
      const agent = new HttpsAgent({ ca: readFileSync(join(cwd, 'certs/ca.crt')) });
      const healthz = await new Promise<number | undefined>((resolve, reject) =>
        httpsRequest({ host: '127.0.0.1', port, path: '/healthz', agent }, (response) => {
          response.resume();
          resolve(response.statusCode);
        })
          .on('error', reject)
          .end(),
      );
      agent.destroy();
      assert.equal(healthz, 200);
      const readyz = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      assert.deepEqual([readyz.status, await readyz.json()], [503, { status: 'not ready', reason: missing }]);
      await new Promise((resolve) => setTimeout(resolve, 3500));
      assert.deepEqual(warningsLogged(run.stdout()), [`${missing}; not ready until credentials appear`]);
      assert.doesNotMatch(run.stdout(), /HTTP protocol is not allowed/);
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal((await run.exited).code, 0);
  });

  test('self-managed TLS without cluster credentials: says once what is missing, live on the metrics port with the reason, SIGTERM while waiting exits 0', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dapr-guard-nocluster-tls-'));
    const [port, metricsPort] = [await freePort(), await freePort()];
    const args = ['--port', String(port), '--metrics-port', String(metricsPort), '--namespace-modes', 'off'];
    const selfManaged = ['--tls-self-managed', 'true', '--service-name', 'dg', '--service-namespace', 'dgns'];
    const run = spawnNode([MAIN, ...args, ...selfManaged], {
      cwd,
      env: { KUBECONFIG: '', HOME: cwd, KUBERNETES_SERVICE_HOST: undefined },
    });
    const missing =
      'tls.selfManaged needs the Kubernetes API, but no cluster credentials were found: no in-cluster ServiceAccount token (KUBERNETES_SERVICE_HOST and /var/run/secrets/kubernetes.io/serviceaccount/token), no KUBECONFIG and no ~/.kube/config — run in a pod with a ServiceAccount, set KUBECONFIG, or serve certificate files instead (tls.selfManaged.enabled=false, --tls-self-managed false); waiting for credentials';
    try {
      await run.waitFor(/waiting for credentials/);
      const healthz = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
      assert.deepEqual([healthz.status, await healthz.json()], [200, { status: 'ok' }]);
      const readyz = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      assert.deepEqual(
        [readyz.status, await readyz.json()],
        [503, { status: 'not ready', reason: missing.replace('; waiting for credentials', '') }],
      );
      await new Promise((resolve) => setTimeout(resolve, 3500));
      assert.deepEqual(warningsLogged(run.stdout()), [missing]);
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal((await run.exited).code, 0);
  });

  test('--help documents the options and exits 0; --version prints the version', () => {
    const help = execFileSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
    assert.match(help, /^Usage: dapr-guard \[options\]/);
    assert.match(help, /--metrics-port <n>/);
    const version = execFileSync(process.execPath, [MAIN, '--version'], { encoding: 'utf8' });
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(version.trim(), manifest.version);
  });

  test('an invalid configuration stops startup with exit code 2 and names the key and accepted values', async () => {
    const run = spawnNode([MAIN, '--mode', 'strict'], { env: { DAPR_GUARD_METRICS_PORT: 'ninety' } });
    const { code } = await run.exited;
    assert.equal(code, 2);
    assert.equal(
      run.stderr(),
      'dapr-guard: invalid configuration:\n  - --mode must be one of enforce, warn, audit, got "strict"\n  - DAPR_GUARD_METRICS_PORT (metrics.port) must be an integer from 1 to 65535, got "ninety"\n',
    );
  });

  test('without certificates and with generation off, startup fails with exit code 2 and a clear message', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dapr-guard-nocert-'));
    const run = spawnNode([MAIN, '--tls-generate', 'false'], { cwd });
    assert.equal((await run.exited).code, 2);
    assert.equal(
      run.stderr(),
      'dapr-guard: no serving certificate: tls.certFile (certs/tls.crt) and tls.keyFile (certs/tls.key) do not exist — provide them, or set tls.generateIfMissing=true (--tls-generate true / DAPR_GUARD_TLS_GENERATE=true) to generate a self-signed pair\n',
    );
  });

  test('with only tls.crt present, startup fails with exit code 2 naming the missing key, and tls.crt is left as it was', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dapr-guard-certonly-'));
    mkdirSync(join(cwd, 'certs'));
    writeFileSync(join(cwd, 'certs', 'tls.crt'), 'the user certificate\n');
    const run = spawnNode([MAIN], { cwd });
    assert.equal((await run.exited).code, 2);
    assert.equal(
      run.stderr(),
      'dapr-guard: tls.keyFile (certs/tls.key) does not exist, but tls.certFile (certs/tls.crt) does; nothing was generated, so that an existing file is not overwritten — set tls.keyFile / --tls-key / DAPR_GUARD_TLS_KEY to the key of that pair\n',
    );
    assert.equal(readFileSync(join(cwd, 'certs', 'tls.crt'), 'utf8'), 'the user certificate\n');
  });
});
