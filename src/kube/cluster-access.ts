import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Whether a cluster is configured here: in-cluster credentials, $KUBECONFIG or ~/.kube/config. */
export function clusterConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env['KUBERNETES_SERVICE_HOST'] !== undefined && existsSync(SERVICE_ACCOUNT_TOKEN)) return true;
  if (env['KUBECONFIG'] !== undefined && env['KUBECONFIG'] !== '') return true;
  return existsSync(join(homedir(), '.kube', 'config'));
}

/**
 * What is missing when clusterConfigured is false, and the ways to provide it; `needs` names the setting
 * that asked for the cluster (`namespaceModes.source=kubernetes`), `orElse` how to do without it.
 */
export function describeMissingCredentials(needs: string, orElse: string): string {
  return (
    `${needs} needs the Kubernetes API, but no cluster credentials were found: no in-cluster ServiceAccount token ` +
    `(KUBERNETES_SERVICE_HOST and ${SERVICE_ACCOUNT_TOKEN}), no KUBECONFIG and no ~/.kube/config — run in a pod ` +
    `with a ServiceAccount, set KUBECONFIG, or ${orElse}`
  );
}
