/**
 * Dapr's real sidecar injector and Sentry (built from github.com/dapr/dapr by
 * test/e2e/cluster/build-dapr.sh), run on loopback as Dapr's own chart configures them: the chart
 * of the same Dapr module is rendered into `dapr-system` with a trust bundle made here (the chart's
 * `dapr_sentry.tls.*` values, as with `dapr init -k --ca-root-certificate …`), its ServiceAccounts,
 * RBAC, trust bundle Secret and ConfigMap, `daprsystem` Configuration and `dapr-sidecar-injector`
 * MutatingWebhookConfiguration are applied, and the two processes get the args and env of the
 * chart's Deployments, with loopback addresses in place of Services and files in place of volumes.
 *
 * Two things a cluster gives that loopback does not, made up for here:
 * - The injector authenticates to Sentry with a ServiceAccount token bound to its Pod. The Pod is
 *   stored (from the chart's pod template; it stays Pending: no kubelet) and the token requested
 *   for it (`kubectl create token --bound-object-kind Pod`), as the kubelet would project it, and
 *   handed over with DAPR_SENTRY_TOKEN_FILE.
 * - Sentry issues the injector's serving certificate for the DNS name
 *   dapr-sidecar-injector.dapr-system.svc only, which an API server calling a loopback URL cannot
 *   match. A TLS relay on 127.0.0.1 (certificate signed by the same trust bundle root, so the
 *   caBundle the injector itself patches into its configuration stays valid) forwards each
 *   connection to the injector, verifying the injector's certificate for that DNS name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { once } from 'node:events';
import { join } from 'node:path';
import type { KubeObject } from '../../../src/admission/wire.ts';
import { helmTemplate } from '../../support/helm.ts';
import { freePort } from '../../support/process.ts';
import { cacheDir, harnessScriptsDir, runBuildScript, type ClusterInfo } from './cluster.ts';
import { runCommand, toManifest, type Kubectl } from './kubectl.ts';
import { daprApp, pod, podContainers } from './objects.ts';
import { eventually } from './wait.ts';

export const DAPR_VERSION = '1.18.3';
export const DAPR_NAMESPACE = 'dapr-system';
const TRUST_DOMAIN = 'cluster.local';
const INJECTOR_DNS_NAME = `dapr-sidecar-injector.${DAPR_NAMESPACE}.svc`;
const INJECTOR_POD = 'dapr-sidecar-injector-e2e';
const INJECTOR_WEBHOOK = 'dapr-sidecar-injector';
const SENTRY_AUDIENCE = `spiffe://${TRUST_DOMAIN}/ns/${DAPR_NAMESPACE}/dapr-sentry`;
/** The chart's objects that configure the two processes (everything else of the chart is left out). */
const APPLIED_KINDS = new Set([
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Configuration',
]);
const APPLIED_NAMES = new Set(['dapr-injector', 'dapr-sentry', 'dapr-trust-bundle', 'daprsystem']);
/** The user the processes run as when the suite runs as root: Dapr refuses root, and its chart sets runAsNonRoot. */
const NON_ROOT = { uid: 65534, gid: 65534 } as const;

interface EnvVar {
  readonly name: string;
  readonly value?: string;
}

interface ContainerSpec {
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
}

interface PodTemplate {
  readonly metadata?: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec: { readonly containers: readonly ContainerSpec[]; readonly [field: string]: unknown };
}

/** Why the Dapr scenarios cannot run here, or undefined when they can. */
export function daprUnavailableReason(cluster: ClusterInfo): string | undefined {
  if (cluster.harnessDir === null)
    return 'the Dapr control plane runs on the local control plane only (it stores Pods in dapr-system and rewrites the injector registration)';
  const [major = 0, minor = 0] = cluster.serverVersion.split('.').map(Number);
  if (major === 1 && minor < 30)
    return `Dapr ${DAPR_VERSION} is not run on Kubernetes ${cluster.serverVersion} (native sidecars and policy/v1 need newer servers)`;
  return undefined;
}

export class DaprControlPlane {
  readonly directory: string;
  readonly injectorLog: string;
  readonly sentryLog: string;
  private readonly children: ChildProcess[];
  private readonly relay: TlsServer;
  private readonly kubectl: Kubectl;

  private constructor(fields: { directory: string; children: ChildProcess[]; relay: TlsServer; kubectl: Kubectl }) {
    this.directory = fields.directory;
    this.injectorLog = join(fields.directory, 'injector.log');
    this.sentryLog = join(fields.directory, 'sentry.log');
    this.children = fields.children;
    this.relay = fields.relay;
    this.kubectl = fields.kubectl;
  }

  /** Builds (when missing), configures and starts Sentry and the injector; resolves once the injector patches Pods. */
  static async start(cluster: ClusterInfo, kubectl: Kubectl): Promise<DaprControlPlane> {
    const harnessDir = cluster.harnessDir;
    if (harnessDir === null) throw new Error('the Dapr control plane needs the local control plane');
    await runBuildScript(join(harnessScriptsDir(), 'build-dapr.sh'), { ...process.env, DAPR_VERSION });
    const home = join(cacheDir(), 'dapr', `v${DAPR_VERSION}`);
    const directory = join(cluster.workDir, 'dapr');
    mkdirSync(directory, { recursive: true });
    const certificates = await makeTrustBundle(directory);
    handOver(directory, harnessDir, cluster.kubeconfig, home);
    const rendered = renderDaprChart(join(home, 'chart'), cluster, certificates);
    // control-plane-namespace.e2e.ts deletes dapr-system without waiting; a terminating namespace takes
    // no new objects. The namespace controller works through a namespace's every resource type, so on a busy
    // cluster with many namespaces going at once this takes minutes.
    await kubectl.ok(['wait', '--for=delete', `namespace/${DAPR_NAMESPACE}`, '--timeout=300s']);
    await kubectl.ok(['apply', '-f', '-'], {
      input: toManifest({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: DAPR_NAMESPACE } }),
    });
    await kubectl.ok(['apply', '-f', '-'], { input: toManifest(rendered.filter(isApplied)) });
    const children: ChildProcess[] = [];
    const relayPort = await freePort();
    const relay = await startRelay(relayPort, await freePort(), certificates);
    try {
      const sentryPort = await freePort();
      children.push(
        await startSentry(harnessDir, directory, home, deploymentTemplate(rendered, 'dapr-sentry'), sentryPort),
      );
      const injectorTemplate = deploymentTemplate(rendered, 'dapr-sidecar-injector');
      await kubectl.ok(['apply', '-f', '-'], { input: toManifest(injectorPod(injectorTemplate)) });
      const token = await kubectl.ok([
        '-n',
        DAPR_NAMESPACE,
        'create',
        'token',
        'dapr-injector',
        `--audience=${SENTRY_AUDIENCE}`,
        '--bound-object-kind=Pod',
        `--bound-object-name=${INJECTOR_POD}`,
        '--duration=2h',
      ]);
      writeFileSync(join(directory, 'sentry-token'), token.stdout.trim(), { mode: 0o600 });
      giveToDapr(join(directory, 'sentry-token'));
      await kubectl.ok(['apply', '-f', '-'], {
        input: toManifest(injectorWebhook(rendered, relayPort, certificates.rootPem)),
      });
      children.push(await startInjector(harnessDir, directory, home, injectorTemplate, relay.upstreamPort, sentryPort));
      return new DaprControlPlane({ directory, children, relay: relay.server, kubectl });
    } catch (error: unknown) {
      for (const child of children) child.kill('SIGKILL');
      relay.server.close();
      throw error;
    }
  }

  /**
   * Waits until a server-side dry run of a Dapr-enabled Pod in `namespace` comes back with a `daprd`
   * container: the registration takes effect asynchronously, and the injector fails open until then.
   */
  async waitUntilInjecting(namespace: string): Promise<void> {
    let probes = 0;
    await eventually(
      async () => {
        probes += 1;
        const result = await this.kubectl.create(
          pod(`injector-probe-${probes}`, namespace, daprApp(`injector-probe-${probes}`)),
          ['--dry-run=server', '-o', 'json'],
        );
        if (result.code !== 0) throw new Error(`dry-run create of the probe Pod: ${result.stderr}`);
        const { containers } = podContainers(JSON.parse(result.stdout) as KubeObject);
        return containers.some((container) => container.name === 'daprd') ? true : undefined;
      },
      {
        description: `Dapr's injector to add daprd to Pods in ${namespace} (log ${this.injectorLog})`,
        timeoutMs: 60_000,
      },
    );
  }

  /** The last lines of the injector's log, for failure messages. */
  injectorLogTail(lines = 40): string {
    return existsSync(this.injectorLog)
      ? readFileSync(this.injectorLog, 'utf8').split('\n').slice(-lines).join('\n')
      : '';
  }

  /**
   * Stops both processes and the relay and removes what start() created: the injector's registration, the
   * cluster-scoped RBAC and dapr-system (waiting until it is gone: a terminating namespace takes no objects). A
   * later file (control-plane-namespace.e2e.ts renders Dapr's chart itself) then finds none of it.
   */
  async stop(): Promise<void> {
    await this.kubectl.run(['delete', 'mutatingwebhookconfiguration', INJECTOR_WEBHOOK, '--ignore-not-found']);
    for (const child of this.children) await stopProcess(child);
    this.relay.close();
    const clusterScoped = ['clusterrole', 'clusterrolebinding'].flatMap((kind) =>
      [...APPLIED_NAMES].map((name) => `${kind}/${name}`),
    );
    await this.kubectl.run(['delete', ...clusterScoped, '--ignore-not-found']);
    await this.kubectl.run(['delete', 'namespace', DAPR_NAMESPACE, '--ignore-not-found', '--timeout=240s']);
  }
}

/**
 * The files the two processes read (their own copy of the kubeconfig, the credentials, later the
 * token) are given to the non-root user when the suite runs as root; the state directory only
 * becomes traversable for it (its own files keep their modes).
 */
function handOver(directory: string, harnessDir: string, kubeconfig: string, home: string): void {
  copyFileSync(kubeconfig, join(directory, 'kubeconfig'));
  if (process.getuid?.() !== 0) return;
  // The cache is under root's home, which that user cannot enter.
  for (const binary of ['sentry', 'injector']) copyFileSync(join(home, 'bin', binary), join(directory, binary));
  chmodSync(harnessDir, 0o711);
  giveToDapr(directory);
}

function giveToDapr(path: string): void {
  if (process.getuid?.() !== 0) return;
  chownSync(path, NON_ROOT.uid, NON_ROOT.gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) giveToDapr(join(path, entry));
}

interface TrustBundle {
  readonly rootPem: string;
  readonly issuerPem: string;
  readonly issuerKeyPem: string;
  readonly relayPem: string;
  readonly relayKeyPem: string;
  /** The directory Sentry reads as --issuer-credentials (ca.crt, issuer.crt, issuer.key) and the injector's DAPR_TRUST_ANCHORS_FILE. */
  readonly credentials: string;
}

/** Root CA, issuer CA (what Sentry signs with) and the relay's serving certificate, with openssl (EC P-256). */
async function makeTrustBundle(directory: string): Promise<TrustBundle> {
  const credentials = join(directory, 'credentials');
  mkdirSync(credentials, { recursive: true });
  const file = (name: string): string => join(credentials, name);
  writeFileSync(
    file('root.cnf'),
    '[req]\ndistinguished_name=dn\nx509_extensions=v3\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n',
  );
  writeFileSync(
    file('issuer.ext'),
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n',
  );
  writeFileSync(
    file('relay.ext'),
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n`,
  );
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('root.key')]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    file('root.key'),
    '-subj',
    `/CN=${TRUST_DOMAIN}`,
    '-days',
    '2',
    '-sha256',
    '-config',
    file('root.cnf'),
    '-out',
    file('ca.crt'),
  ]);
  for (const [name, extensions] of [
    ['issuer', 'issuer.ext'],
    ['relay', 'relay.ext'],
  ] as const) {
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(`${name}.key`)]);
    await openssl([
      'req',
      '-new',
      '-key',
      file(`${name}.key`),
      '-subj',
      `/CN=${name === 'issuer' ? TRUST_DOMAIN : '127.0.0.1'}`,
      '-out',
      file(`${name}.csr`),
    ]);
    await openssl([
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('root.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      file(extensions),
      '-out',
      file(`${name}.crt`),
    ]);
  }
  const read = (name: string): string => readFileSync(file(name), 'utf8');
  return {
    rootPem: read('ca.crt'),
    issuerPem: read('issuer.crt'),
    issuerKeyPem: read('issuer.key'),
    relayPem: read('relay.crt'),
    relayKeyPem: read('relay.key'),
    credentials,
  };
}

async function openssl(args: readonly string[]): Promise<void> {
  const result = await runCommand('openssl', args);
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

/** Dapr's chart with the trust bundle as values, rendered for this server's version. */
function renderDaprChart(chart: string, cluster: ClusterInfo, bundle: TrustBundle): KubeObject[] {
  return helmTemplate({
    chart,
    releaseName: 'dapr',
    namespace: DAPR_NAMESPACE,
    kubeVersion: cluster.serverVersion,
    values: {
      // The chart in the module says `edge`; a release install names its version.
      global: { tag: DAPR_VERSION },
      dapr_sentry: {
        tls: { root: { certPEM: bundle.rootPem }, issuer: { certPEM: bundle.issuerPem, keyPEM: bundle.issuerKeyPem } },
      },
    },
    extraArgs: ['--skip-crds'],
  });
}

function isApplied(object: KubeObject): boolean {
  return APPLIED_KINDS.has(object.kind ?? '') && APPLIED_NAMES.has(object.metadata?.name ?? '');
}

function deploymentTemplate(rendered: readonly KubeObject[], name: string): PodTemplate {
  const found = rendered.find((object) => object.kind === 'Deployment' && object.metadata?.name === name);
  const template = (found?.['spec'] as { template?: PodTemplate } | undefined)?.template;
  if (template === undefined) throw new Error(`Dapr's chart rendered no Deployment ${name}`);
  return template;
}

/** The injector's Pod as its ReplicaSet would create it: what Sentry checks the token's Pod against. */
function injectorPod(template: PodTemplate): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...template.metadata, name: INJECTOR_POD, namespace: DAPR_NAMESPACE },
    spec: template.spec,
  };
}

/** The chart's MutatingWebhookConfiguration, with the Service replaced by the relay's loopback URL. */
function injectorWebhook(rendered: readonly KubeObject[], relayPort: number, rootPem: string): KubeObject {
  const found = rendered.find(
    (object) => object.kind === 'MutatingWebhookConfiguration' && object.metadata?.name === INJECTOR_WEBHOOK,
  );
  const webhooks = found?.['webhooks'];
  if (found === undefined || !Array.isArray(webhooks))
    throw new Error(`Dapr's chart rendered no MutatingWebhookConfiguration ${INJECTOR_WEBHOOK}`);
  return {
    ...found,
    webhooks: (webhooks as { clientConfig: { service?: { path?: string } } }[]).map((entry) => ({
      ...entry,
      clientConfig: {
        url: `https://127.0.0.1:${relayPort}${entry.clientConfig.service?.path ?? '/mutate'}`,
        caBundle: Buffer.from(rootPem).toString('base64'),
      },
    })),
  };
}

async function startRelay(
  port: number,
  upstreamPort: number,
  bundle: TrustBundle,
): Promise<{ server: TlsServer; upstreamPort: number }> {
  const server = createTlsServer({ cert: bundle.relayPem, key: bundle.relayKeyPem }, (downstream) => {
    const upstream = tlsConnect({
      host: '127.0.0.1',
      port: upstreamPort,
      servername: INJECTOR_DNS_NAME,
      ca: bundle.rootPem,
    });
    downstream.pipe(upstream).pipe(downstream);
    const close = (): void => {
      downstream.destroy();
      upstream.destroy();
    };
    upstream.on('error', close);
    downstream.on('error', close);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { server, upstreamPort };
}

/** The chart's container args with the ports moved to free loopback ones (later flags win). */
function loopbackArgs(
  container: ContainerSpec,
  ports: Readonly<Record<string, number>>,
  extra: readonly string[],
): string[] {
  const moved = Object.entries(ports).flatMap(([flag, port]) => [
    `--${flag}-port=${port}`,
    `--${flag}-listen-address=127.0.0.1`,
  ]);
  return [...(container.args ?? []), ...moved, ...extra];
}

/** The chart's literal env values (fieldRefs and volume paths are given by the caller). */
function literalEnv(container: ContainerSpec): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).flatMap((variable) =>
      variable.value === undefined ? [] : [[variable.name, variable.value]],
    ),
  );
}

async function startSentry(
  harnessDir: string,
  directory: string,
  home: string,
  template: PodTemplate,
  port: number,
): Promise<ChildProcess> {
  const container = template.spec.containers[0] ?? {};
  const healthz = await freePort();
  const args = loopbackArgs(container, { metrics: await freePort(), healthz }, [
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    `--issuer-credentials=${join(directory, 'credentials')}`,
    `--kubeconfig=${join(directory, 'kubeconfig')}`,
  ]);
  const env = { ...literalEnv(container), NAMESPACE: DAPR_NAMESPACE };
  return startDaprProcess('sentry', daprBinary(directory, home, 'sentry'), args, env, harnessDir, directory, healthz);
}

async function startInjector(
  harnessDir: string,
  directory: string,
  home: string,
  template: PodTemplate,
  port: number,
  sentryPort: number,
): Promise<ChildProcess> {
  const container = template.spec.containers[0] ?? {};
  const healthz = await freePort();
  const args = loopbackArgs(container, { metrics: await freePort(), healthz }, [
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    `--kubeconfig=${join(directory, 'kubeconfig')}`,
  ]);
  const env = {
    ...literalEnv(container),
    NAMESPACE: DAPR_NAMESPACE,
    DAPR_SENTRY_ADDRESS: `127.0.0.1:${sentryPort}`,
    DAPR_TRUST_ANCHORS_FILE: join(directory, 'credentials', 'ca.crt'),
    DAPR_SENTRY_TOKEN_FILE: join(directory, 'sentry-token'),
  };
  return startDaprProcess(
    'injector',
    daprBinary(directory, home, 'injector'),
    args,
    env,
    harnessDir,
    directory,
    healthz,
  );
}

function daprBinary(directory: string, home: string, name: string): string {
  return process.getuid?.() === 0 ? join(directory, name) : join(home, 'bin', name);
}

/**
 * Starts one Dapr binary with its log in the run's directory and a pid file for kube-down.sh (its
 * --kubeconfig names the state directory, which kube-down.sh checks); resolves when /healthz is 200.
 */
async function startDaprProcess(
  name: string,
  binary: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  harnessDir: string,
  directory: string,
  healthzPort: number,
): Promise<ChildProcess> {
  const log = openSync(join(directory, `${name}.log`), 'a');
  const user = process.getuid?.() === 0 ? NON_ROOT : {};
  const child = spawn(binary, [...args], {
    ...user,
    stdio: ['ignore', log, log],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: directory, ...env },
  });
  closeSync(log);
  if (child.pid !== undefined)
    writeFileSync(join(harnessDir, 'run', `dapr-${name}-${healthzPort}.pid`), `${child.pid}\n`);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  await eventually(
    async () => {
      if (exited !== undefined)
        throw new Error(
          `${name} exited (${exited}): ${readFileSync(join(directory, `${name}.log`), 'utf8').slice(-3000)}`,
        );
      return (await healthzStatus(healthzPort)) === 200 ? true : undefined;
    },
    {
      description: `Dapr ${name} to report healthy on 127.0.0.1:${healthzPort}/healthz (log ${join(directory, `${name}.log`)})`,
      timeoutMs: 60_000,
      intervalMs: 250,
    },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return child;
}

function healthzStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpGet({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.on('timeout', () => request.destroy(new Error('timeout')));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
