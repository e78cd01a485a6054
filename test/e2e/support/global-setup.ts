/**
 * `node --test --test-global-setup=test/e2e/support/global-setup.ts`: one cluster for every
 * scenario file (started once, ~10 s), handed to the test processes through
 * DAPR_GUARD_E2E_CLUSTER_INFO, and stopped after the last file. See cluster.ts for the choice
 * between the local harness and an existing cluster.
 *
 * On SIGINT or SIGTERM the test runner reports the interrupted tests and calls globalTeardown
 * itself, so Ctrl-C or a CI timeout stops the harness too (kube-down.sh also stops any dapr-guard
 * it has a pid file for).
 */
import { CLUSTER_INFO_ENV, startCluster, stopCluster, writeClusterInfo, type ClusterInfo } from './cluster.ts';

let cluster: ClusterInfo | undefined;

export async function globalSetup(): Promise<void> {
  const started = Date.now();
  cluster = await startCluster();
  process.env[CLUSTER_INFO_ENV] = writeClusterInfo(cluster);
  process.stderr.write(
    `e2e: ${cluster.source === 'local-harness' ? 'local harness' : 'existing cluster'} Kubernetes ${cluster.serverVersion} ready in ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s (kubeconfig ${cluster.kubeconfig})\n`,
  );
}

export async function globalTeardown(): Promise<void> {
  if (cluster === undefined) return;
  const stopping = cluster;
  cluster = undefined;
  await stopCluster(stopping);
}
