import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isRecord, type JsonRecord } from '../util/json.ts';

/**
 * The credentials of one kubeconfig context, read without @kubernetes/client-node: loading the client
 * costs ~80 MiB of RSS (its generated API models), more than the whole audit of 10,000 objects
 * (bench/audit.ts). Covers what clusters hand out without a plugin — a token or token file, a client
 * certificate, the CA, in-cluster ServiceAccount credentials; a user with `exec` or `auth-provider`
 * is left to client-node (`kind: 'plugin'`).
 */
export interface ClusterCredentials {
  readonly server: string;
  readonly context: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  readonly basic?: string;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string;
}

export type CredentialsRead =
  | { readonly kind: 'credentials'; readonly credentials: ClusterCredentials }
  /** The user authenticates with an exec or auth-provider plugin: client-node runs it. */
  | { readonly kind: 'plugin' }
  | { readonly kind: 'problem'; readonly message: string };

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;

interface Loaded {
  readonly file: string;
  readonly config: JsonRecord;
}

/** The context to use, from --kubeconfig, $KUBECONFIG (files separated by `:`), ~/.kube/config, or in-cluster. */
export function readClusterCredentials(
  options: { readonly file: string | undefined; readonly context: string | undefined },
  env: NodeJS.ProcessEnv,
): CredentialsRead {
  const files = kubeconfigFiles(options.file, env);
  if (files.length === 0) return inClusterCredentials(env);
  const loaded: Loaded[] = [];
  for (const file of files) {
    const read = readKubeconfig(file, files.length > 1);
    if (typeof read === 'string') return { kind: 'problem', message: read };
    if (read !== undefined) loaded.push({ file, config: read });
  }
  return contextCredentials(loaded, options.context);
}

function kubeconfigFiles(file: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (file !== undefined) return [file];
  const fromEnv = env['KUBECONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv.split(delimiter).filter((path) => path !== '');
  if (env['KUBERNETES_SERVICE_HOST'] !== undefined) return [];
  return [join(homedir(), '.kube', 'config')];
}

/** The parsed file, undefined for a missing file of a $KUBECONFIG list (kubectl skips those), or the problem. */
function readKubeconfig(file: string, ofList: boolean): JsonRecord | undefined | string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (ofList && code === 'ENOENT') return undefined;
    return `cannot read the kubeconfig ${file}: ${code ?? String(error)}`;
  }
  if (text.length > MAX_KUBECONFIG_BYTES) return `the kubeconfig ${file} is larger than ${MAX_KUBECONFIG_BYTES} bytes`;
  try {
    const parsed: unknown = parseYaml(text);
    return isRecord(parsed) ? parsed : `the kubeconfig ${file} is not a mapping`;
  } catch (error: unknown) {
    return `the kubeconfig ${file} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`;
  }
}

interface Named {
  readonly entry: JsonRecord;
  readonly file: string;
}

/** `clusters`, `users` or `contexts` by name; the first file that names one wins, as in kubectl. */
function namedEntries(loaded: readonly Loaded[], list: string, field: string): Map<string, Named> {
  const entries = new Map<string, Named>();
  for (const { file, config } of loaded) {
    const items = config[list];
    if (!Array.isArray(items)) continue;
    for (const item of items as unknown[]) {
      if (!isRecord(item) || typeof item['name'] !== 'string' || entries.has(item['name'])) continue;
      const entry = item[field];
      entries.set(item['name'], { entry: isRecord(entry) ? entry : {}, file });
    }
  }
  return entries;
}

function contextCredentials(loaded: readonly Loaded[], requested: string | undefined): CredentialsRead {
  const problem = (message: string): CredentialsRead => ({ kind: 'problem', message });
  const name = requested ?? currentContextOf(loaded);
  if (name === undefined) return problem('the kubeconfig sets no current-context; pass --context');
  const context = contextNamed(loaded, name);
  if (typeof context === 'string') return problem(context);
  const cluster = referenced(loaded, 'clusters', 'cluster', context.entry['cluster']);
  if (typeof cluster?.entry['server'] !== 'string')
    return problem(`context ${JSON.stringify(name)} names no cluster with a server`);
  const user = referenced(loaded, 'users', 'user', context.entry['user']);
  if (usesPlugin(user)) return { kind: 'plugin' };
  try {
    return { kind: 'credentials', credentials: { context: name, ...clusterPart(cluster), ...userPart(user) } };
  } catch (error: unknown) {
    const { code, path } = error as NodeJS.ErrnoException;
    return problem(
      `context ${JSON.stringify(name)}: cannot read ${path ?? 'a file it names'}: ${code ?? String(error)}`,
    );
  }
}

function contextNamed(loaded: readonly Loaded[], name: string): Named | string {
  const contexts = namedEntries(loaded, 'contexts', 'context');
  const context = contexts.get(name);
  if (context !== undefined) return context;
  const known = [...contexts.keys()].join(', ') || '(none)';
  return `the kubeconfig has no context ${JSON.stringify(name.slice(0, 253))}; its contexts: ${known}`;
}

function usesPlugin(user: Named | undefined): boolean {
  return user !== undefined && (isRecord(user.entry['exec']) || isRecord(user.entry['auth-provider']));
}

function currentContextOf(loaded: readonly Loaded[]): string | undefined {
  const current = loaded
    .map(({ config }) => config['current-context'])
    .find((name) => typeof name === 'string' && name !== '');
  return typeof current === 'string' ? current : undefined;
}

function referenced(loaded: readonly Loaded[], list: string, field: string, name: unknown): Named | undefined {
  return typeof name === 'string' ? namedEntries(loaded, list, field).get(name) : undefined;
}

/** `<key>-data` (base64) or `<key>` (a file, relative to its kubeconfig). */
function material(named: Named, key: string): Buffer | undefined {
  const data = named.entry[`${key}-data`];
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
  const path = named.entry[key];
  if (typeof path !== 'string' || path === '') return undefined;
  return readFileSync(isAbsolute(path) ? path : join(dirname(named.file), path));
}

function clusterPart(cluster: Named): Omit<ClusterCredentials, 'context'> {
  const ca = material(cluster, 'certificate-authority');
  const tlsServerName = cluster.entry['tls-server-name'];
  return {
    server: String(cluster.entry['server']),
    insecureSkipTlsVerify: cluster.entry['insecure-skip-tls-verify'] === true,
    ...(ca === undefined ? {} : { ca }),
    ...(typeof tlsServerName === 'string' && tlsServerName !== '' ? { tlsServerName } : {}),
  };
}

function userPart(user: Named | undefined): Partial<ClusterCredentials> {
  if (user === undefined) return {};
  const cert = material(user, 'client-certificate');
  const key = material(user, 'client-key');
  const token = tokenOf(user);
  const basic = basicOf(user);
  return {
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(token === undefined ? {} : { token }),
    ...(basic === undefined ? {} : { basic }),
  };
}

function tokenOf(user: Named): string | undefined {
  const { token, tokenFile } = user.entry;
  if (typeof token === 'string' && token !== '') return token;
  return typeof tokenFile === 'string' && tokenFile !== '' ? readFileSync(tokenFile, 'utf8').trim() : undefined;
}

function basicOf(user: Named): string | undefined {
  const { username, password } = user.entry;
  return typeof username === 'string' && typeof password === 'string'
    ? Buffer.from(`${username}:${password}`).toString('base64')
    : undefined;
}

/** The Pod's ServiceAccount, as client-go's rest.InClusterConfig reads it. */
function inClusterCredentials(env: NodeJS.ProcessEnv): CredentialsRead {
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  try {
    return {
      kind: 'credentials',
      credentials: {
        server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
        context: 'in-cluster',
        ca: readFileSync(join(SERVICE_ACCOUNT_DIR, 'ca.crt')),
        token: readFileSync(join(SERVICE_ACCOUNT_DIR, 'token'), 'utf8').trim(),
        insecureSkipTlsVerify: false,
      },
    };
  } catch (error: unknown) {
    return {
      kind: 'problem',
      message: `in-cluster credentials in ${SERVICE_ACCOUNT_DIR}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    };
  }
}
