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
