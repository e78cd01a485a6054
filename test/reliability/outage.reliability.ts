/**
 * Scenario 3, API server outage, on the project's control plane (test/e2e/cluster/): dapr-guard watches
 * the dapr-guard.io/mode namespace labels (namespace `audited` in audit, `enforced` in enforce); then
 * kube-apiserver alone is stopped for 30 s (etcd keeps running) and started again with the same flags
 * (test/e2e/cluster/kube-apiserver-outage.sh). Reviews are sent to dapr-guard directly throughout, as
 * an API server that is up would still send them. Promise: every review is answered, with the last
 * known namespace modes; the watch failure is logged, but not in a loop; memory stays bounded; after
 * the restart a label change takes effect (the recovery time is reported).
 * Not covered: a label changed while the API server is down (nothing can change one then), and
 * self-managed TLS during the outage.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AdmissionReview } from '../../src/admission/wire.ts';
import { admissionRequest, admissionReviewBody } from '../support/requests.ts';
import { postHttp1 } from '../support/server.ts';
import { harnessScriptsDir } from '../e2e/support/cluster.ts';
import { runCommand } from '../e2e/support/kubectl.ts';
import { redisWithPlaintextPassword } from '../e2e/support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from '../e2e/support/scenario.ts';
import { processFigures } from './support/guard.ts';

const MODE_LABEL = 'dapr-guard.io/mode';
const OUTAGE_SECONDS = 30;
const MIB = 1024 * 1024;
/** Growth of dapr-guard's resident memory during the outage that still counts as bounded. */
const RSS_GROWTH_BOUND_MIB = 64;
/** Warnings about the failing watch during the outage: one per distinct failure, not one per retry. */
const MAX_WATCH_WARNINGS = 4;
const RECOVERY_BOUND_MS = 60_000;

const scenario: Scenario = new Scenario({
  name: 'outage',
  guard: { mode: 'enforce', namespaceModes: true },
  namespaces: { audited: { [MODE_LABEL]: 'audit' }, enforced: {} },
});

let reviews = 0;

/** A Component with a plaintext password in `namespace`, reviewed by dapr-guard directly: its mode. */
async function modeIn(namespace: string): Promise<'audit' | 'enforce'> {
  reviews += 1;
  const uid = `outage-${reviews}`;
  const object = redisWithPlaintextPassword(`outage-${reviews}`, namespace, 'not-a-real-secret');
  const origin = new URL(scenario.guard.url(scenario.cluster, '/')).origin;
  const reply = await postHttp1(
    origin,
    '/validate',
    Buffer.from(scenario.guard.caPem),
    admissionReviewBody(admissionRequest(object, { uid })),
  );
  assert.equal(reply.status, 200);
  const response = (JSON.parse(reply.body) as AdmissionReview).response;
  assert.equal(response?.uid, uid);
  return response?.allowed === true ? 'audit' : 'enforce';
}

function outage(action: 'stop' | 'start'): Promise<void> {
  const harnessDir = scenario.cluster.harnessDir;
  if (harnessDir === null) throw new Error('the outage needs the local harness');
  return runCommand(join(harnessScriptsDir(), 'kube-apiserver-outage.sh'), [action], {
    env: { ...process.env, KUBE_HARNESS_DIR: harnessDir, KUBECTL: scenario.kubectl.binary },
    timeoutMs: 90_000,
  }).then((result) => assert.equal(result.code, 0, result.stderr));
}

function guardPid(): number {
  const harnessDir = scenario.cluster.harnessDir ?? '';
  return Number(readFileSync(join(harnessDir, 'run', `dapr-guard-${scenario.guard.port}.pid`), 'utf8'));
}

function watchWarnings(): number {
  return scenario.guard.logLines().filter((line) => String(line['msg']).startsWith('namespace watch failed')).length;
}

before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

test(
  `API server outage of ${OUTAGE_SECONDS} s: reviews keep the last known namespace modes`,
  { timeout: 240_000 },
  async (t) => {
    if (scenario.cluster.harnessDir === null) return t.skip('an existing cluster: its API server is not ours to stop');
    const [audited, enforced] = [scenario.namespace('audited'), scenario.namespace('enforced')];
    const modesSynced = async (): Promise<boolean> => (await modeIn(audited)) === 'audit';
    for (let attempt = 0; !(await modesSynced()); attempt += 1) {
      assert.ok(attempt < 100, 'the namespace labels sync');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const pid = guardPid();
    const rssBefore = processFigures(pid).rssBytes / MIB;
    const warningsBefore = watchWarnings();
    await outage('stop');
    let restarted = false;
    try {
      const stoppedAt = Date.now();
      let answered = 0;
      let rssMax = rssBefore;
      while (Date.now() - stoppedAt < OUTAGE_SECONDS * 1000) {
        assert.deepEqual([await modeIn(audited), await modeIn(enforced)], ['audit', 'enforce']);
        answered += 2;
        rssMax = Math.max(rssMax, processFigures(pid).rssBytes / MIB);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const warnings = watchWarnings() - warningsBefore;
      await outage('start');
      restarted = true;
      const upAt = Date.now();
      await scenario.kubectl.ok(['label', 'namespace', enforced, `${MODE_LABEL}=audit`, '--overwrite']);
      let recovered = false;
      while (!recovered && Date.now() - upAt < RECOVERY_BOUND_MS) {
        recovered = (await modeIn(enforced)) === 'audit';
        if (!recovered) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const recoveryMs = Date.now() - upAt;
      t.diagnostic(
        `${answered} reviews answered during the ${OUTAGE_SECONDS} s outage with the last known modes; ` +
          `${warnings} watch warnings logged; RSS ${rssBefore.toFixed(0)} → max ${rssMax.toFixed(0)} MiB; ` +
          `a label change made once the API server was ready took effect after ${recoveryMs} ms`,
      );
      assert.ok(recovered, `the label change took effect within ${RECOVERY_BOUND_MS} ms of the restart`);
      assert.ok(warnings >= 1 && warnings <= MAX_WATCH_WARNINGS, `${warnings} watch warnings during the outage`);
      assert.ok(rssMax - rssBefore < RSS_GROWTH_BOUND_MIB, `RSS ${rssBefore} → ${rssMax} MiB`);
      assert.ok(
        scenario.guard.logLines().some((line) => line['msg'] === 'namespace mode labels synced'),
        'the resync is logged',
      );
    } finally {
      if (!restarted) await outage('start');
    }
  },
);
