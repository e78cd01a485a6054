import { KubeConfig } from '@kubernetes/client-node';

/** The loaded kubeconfig, for layers that may not import the client. */
export type ClusterConfig = KubeConfig;

/** In-cluster credentials, $KUBECONFIG or ~/.kube/config, as kubectl finds them. */
export function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}

/**
 * As loadKubeConfig, or from `file` (--kubeconfig); `context` (--context) must be one of the file's.
 * Returns the reason when it cannot be used.
 */
export function loadKubeConfigFor(options: {
  readonly file: string | undefined;
  readonly context: string | undefined;
}): KubeConfig | string {
  const kubeConfig = new KubeConfig();
  try {
    if (options.file === undefined) kubeConfig.loadFromDefault();
    else kubeConfig.loadFromFile(options.file);
  } catch (error: unknown) {
    return `cannot read the kubeconfig${options.file === undefined ? '' : ` ${options.file}`}: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (options.context !== undefined) {
    if (kubeConfig.getContextObject(options.context) === null) {
      const known = kubeConfig.getContexts().map((context) => context.name);
      return `the kubeconfig has no context ${JSON.stringify(options.context.slice(0, 253))}; its contexts: ${known.join(', ') || '(none)'}`;
    }
    kubeConfig.setCurrentContext(options.context);
  }
  if (kubeConfig.getCurrentCluster() === null) return 'the kubeconfig names no cluster for its current context';
  return kubeConfig;
}
