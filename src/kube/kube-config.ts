import { KubeConfig } from '@kubernetes/client-node';

/** In-cluster credentials, $KUBECONFIG or ~/.kube/config, as kubectl finds them. */
export function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}
