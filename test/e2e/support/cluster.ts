/**
 * Which Kubernetes cluster the end-to-end suite runs against, like controller-runtime's envtest:
 *
 * - default: the project's own control plane (test/e2e/cluster/: real etcd, kube-apiserver with an
 *   audit policy, kube-controller-manager) of E2E_KUBE_VERSION (default 1.37.2; 1.20.2 is the oldest
 *   supported), built into the cache by build.sh when missing, started with kube-up.sh on loopback
 *   ports of its own and a state directory under the OS temp dir; stopped again with kube-down.sh.
 * - E2E_USE_EXISTING_CLUSTER=1: the cluster of $KUBECONFIG (kind, k3d, a real one). Nothing is
 *   started or stopped; the API server must be able to reach dapr-guard at E2E_WEBHOOK_HOST.
 *
 * `npm run test:e2e` starts one cluster for all files (global-setup.ts) and hands it to them through
 * DAPR_GUARD_E2E_CLUSTER_INFO; a file run on its own starts (and stops) its own.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../support/process.ts';
import { parseManifests } from '../../support/helm.ts';
import { describeResult, findKubectl, Kubectl, runCommand } from './kubectl.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The copies of the Dapr CRDs and chart renderings that the tests use (test/fixtures/README.md). */
export const DAPR_MANIFESTS = join(REPO_ROOT, 'test', 'fixtures', 'dapr-manifests');

/** Env var with the path of the ClusterInfo file written by global-setup.ts. */
export const CLUSTER_INFO_ENV = 'DAPR_GUARD_E2E_CLUSTER_INFO';

export interface ClusterInfo {
  readonly source: 'local-harness' | 'existing';
  readonly kubeconfig: string;
  /** The kubectl binary every test uses. */
  readonly kubectl: string;
  /** `1.20.2`: from the API server. */
  readonly serverVersion: string;
  /** `kubectl api-versions`. */
  readonly apiVersions: readonly string[];
  /** Files of this run: dapr-guard's certificates and logs (and the harness state for the local harness). */
  readonly workDir: string;
  /** KUBE_HARNESS_DIR of the local harness, null for an existing cluster. */
  readonly harnessDir: string | null;
  /** The API server's audit log, when this process can read it (local harness, or E2E_AUDIT_LOG). */
  readonly auditLog: string | null;
  /** Address the API server reaches dapr-guard at (clientConfig.url host). */
  readonly webhookHost: string;
  /** Address dapr-guard listens on. */
  readonly listenHost: string;
  /** CRDs this run created on an existing cluster (deleted again at the end). */
  readonly createdCrds: readonly string[];
}

/** Metadata of every create/update/patch (audit annotations included), nothing else: a small log. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch]
  - level: None
`;

/** The Kubernetes version of the local control plane when E2E_KUBE_VERSION does not say. */
export const DEFAULT_KUBE_VERSION = '1.37.2';

/** The directory with build.sh, kube-up.sh and kube-down.sh: the project's, or E2E_K8S_HARNESS. */
export function harnessScriptsDir(env: NodeJS.ProcessEnv = process.env): string {
  const directory = env['E2E_K8S_HARNESS'] ?? join(REPO_ROOT, 'test', 'e2e', 'cluster');
  for (const script of ['kube-up.sh', 'kube-down.sh']) {
    if (!existsSync(join(directory, script))) {
      throw new Error(
        `the end-to-end tests need ${join(directory, script)}: set E2E_K8S_HARNESS to the directory that holds ` +
          'kube-up.sh, or run against an existing cluster with E2E_USE_EXISTING_CLUSTER=1 and KUBECONFIG (see test/e2e/README.md)',
      );
    }
  }
  return directory;
}

/** E2E_KUBE_VERSION, else the default. */
export function localKubeVersion(env: NodeJS.ProcessEnv = process.env): string {
  const version = env['E2E_KUBE_VERSION'];
  return version === undefined || version === '' ? DEFAULT_KUBE_VERSION : version.replace(/^v/, '');
}

/** Where build.sh puts the binaries of one version (kube-up.sh looks there too). */
export function controlPlaneBinDir(version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'k8s', `v${version}`, 'bin');
}

/** DAPR_GUARD_CACHE, else ~/.cache/dapr-guard: binaries and Go caches, never inside the repository. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env['DAPR_GUARD_CACHE'];
  return configured === undefined || configured === '' ? join(homedir(), '.cache', 'dapr-guard') : configured;
}

/** The cluster that global-setup.ts started for the whole run, if any. */
export function sharedCluster(env: NodeJS.ProcessEnv = process.env): ClusterInfo | undefined {
  const file = env[CLUSTER_INFO_ENV];
  if (file === undefined || file === '') return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
}

/** Starts (or connects to) the cluster chosen by the environment and prepares it for the scenarios. */
export async function startCluster(env: NodeJS.ProcessEnv = process.env): Promise<ClusterInfo> {
  const base = env['E2E_USE_EXISTING_CLUSTER'] === '1' ? await existingCluster(env) : await startLocalHarness(env);
  try {
    const createdCrds = await prepareCluster(base);
    // Again, now with dapr.io/v1alpha1.
    const { apiVersions } = await clusterVersions(new Kubectl(base.kubeconfig, base.kubectl));
    return { ...base, apiVersions, createdCrds };
  } catch (error: unknown) {
    await stopCluster({ ...base, createdCrds: [] }, { keep: true });
    throw error;
  }
}

/**
 * Stops what startCluster started. The work directory (logs, audit log, dapr-guard logs) is kept
 * when a scenario failed, when `keep` is set or with E2E_KEEP=1; its path is printed then.
 */
export async function stopCluster(info: ClusterInfo, options: { keep?: boolean } = {}): Promise<void> {
  const keep = options.keep === true || hasFailures(info) || process.env['E2E_KEEP'] === '1';
  if (info.harnessDir !== null) {
    const down = await runCommand(join(harnessScriptsDir(), 'kube-down.sh'), [], {
      env: { ...process.env, KUBE_HARNESS_DIR: info.harnessDir, KUBE_DOWN_PURGE: keep ? '0' : '1' },
      timeoutMs: 120_000,
    });
    if (down.code !== 0) process.stderr.write(describeResult('kube-down.sh failed', down));
  } else {
    const kubectl = new Kubectl(info.kubeconfig, info.kubectl);
    for (const crd of info.createdCrds) await kubectl.run(['delete', 'crd', crd, '--ignore-not-found', '--wait=false']);
    if (!keep) rmSync(info.workDir, { recursive: true, force: true });
  }
  if (keep)
    process.stderr.write(`\ne2e: kept ${info.workDir} (API server logs in logs/, dapr-guard logs in dapr-guard-*/)\n`);
}

/** Records a failed scenario, so that stopCluster keeps the logs. */
export function markFailed(info: ClusterInfo, what: string): void {
  if (existsSync(info.workDir)) appendFileSync(join(info.workDir, 'FAILED'), `${what}\n`);
}

function hasFailures(info: ClusterInfo): boolean {
  return existsSync(join(info.workDir, 'FAILED'));
}

export function writeClusterInfo(info: ClusterInfo): string {
  const file = join(info.workDir, 'cluster-info.json');
  writeFileSync(file, JSON.stringify(info, null, 2));
  return file;
}

/** True when the API server serves this group/version (`policy/v1` from Kubernetes 1.21). */
export function serves(info: ClusterInfo, groupVersion: string): boolean {
  return info.apiVersions.includes(groupVersion);
}

/** The chart sends only Dapr workloads from 1.28 on (matchConditions); older servers send every workload. */
export function hasMatchConditions(info: ClusterInfo): boolean {
  const [major = 0, minor = 0] = info.serverVersion.split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 28);
}

async function startLocalHarness(env: NodeJS.ProcessEnv): Promise<Omit<ClusterInfo, 'createdCrds'>> {
  const scripts = harnessScriptsDir(env);
  const version = localKubeVersion(env);
  await buildControlPlane(scripts, version, env);
  const kubectl = harnessKubectl(version, env);
  const workDir = mkdtempSync(join(tmpdir(), 'dapr-guard-e2e-'));
  const policy = join(workDir, 'audit-policy.yaml');
  writeFileSync(policy, AUDIT_POLICY);
  const auditLog = join(workDir, 'logs', 'audit.log');
  const harnessEnv = {
    ...process.env,
    KUBE_HARNESS_DIR: workDir,
    KUBE_APISERVER_PORT: String(await portFromEnv(env, 'E2E_KUBE_APISERVER_PORT')),
    ETCD_CLIENT_PORT: String(await portFromEnv(env, 'E2E_ETCD_CLIENT_PORT')),
    ETCD_PEER_PORT: String(await portFromEnv(env, 'E2E_ETCD_PEER_PORT')),
    // Deployments get ReplicaSets and Pods, namespaces their default ServiceAccount, deletion completes.
    KUBE_CONTROLLER_MANAGER: '1',
    KUBE_APISERVER_EXTRA_ARGS: `--audit-policy-file=${policy} --audit-log-path=${auditLog} --audit-log-maxbackup=1`,
    KUBECTL: kubectl,
    KUBE_VERSION: version,
  };
  const up = await runCommand(join(scripts, 'kube-up.sh'), [], { env: harnessEnv, timeoutMs: 300_000 });
  if (up.code !== 0) {
    throw new Error(
      describeResult(
        `kube-up.sh failed (state dir ${workDir}). The binaries come from ${join(scripts, 'build.sh')} (KUBE_VERSION=${version})`,
        up,
      ),
    );
  }
  const kubeconfig = join(workDir, 'kubeconfig');
  const versions = await clusterVersions(new Kubectl(kubeconfig, kubectl));
  return {
    source: 'local-harness',
    kubeconfig,
    kubectl,
    ...versions,
    workDir,
    harnessDir: workDir,
    auditLog,
    webhookHost: '127.0.0.1',
    listenHost: '127.0.0.1',
  };
}

/**
 * build.sh is a no-op when the binaries are there; on a fresh machine it compiles for a while, so
 * its progress goes straight to the terminal.
 */
async function buildControlPlane(scripts: string, version: string, env: NodeJS.ProcessEnv): Promise<void> {
  const build = join(scripts, 'build.sh');
  if (existsSync(build)) await runBuildScript(build, { ...env, KUBE_VERSION: version });
}

/** Runs one of test/e2e/cluster's build scripts with its output on stderr; throws when it fails. */
export async function runBuildScript(script: string, env: NodeJS.ProcessEnv): Promise<void> {
  const code = await new Promise<number>((resolveCode, reject) => {
    const child = spawn(script, [], { env, stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', reject);
    child.on('close', (exitCode) => resolveCode(exitCode ?? 1));
  });
  if (code !== 0) throw new Error(`${script} failed with exit code ${code}`);
}

/**
 * $KUBECTL when set; else the kubectl built with the control plane (the same version: what a user of
 * that cluster runs); else kubectl from PATH or the npm layer (v1.32, used with 1.20.2).
 */
function harnessKubectl(version: string, env: NodeJS.ProcessEnv): string {
  const configured = env['KUBECTL'];
  if (configured !== undefined && configured !== '') return configured;
  const built = join(controlPlaneBinDir(version, env), 'kubectl');
  return existsSync(built) ? built : findKubectl(env);
}

async function existingCluster(env: NodeJS.ProcessEnv): Promise<Omit<ClusterInfo, 'createdCrds'>> {
  const kubeconfig = env['KUBECONFIG'];
  if (kubeconfig === undefined || kubeconfig === '')
    throw new Error('E2E_USE_EXISTING_CLUSTER=1 needs KUBECONFIG (one file) naming the cluster');
  const kubectl = findKubectl(env);
  const versions = await clusterVersions(new Kubectl(kubeconfig, kubectl));
  const webhookHost = env['E2E_WEBHOOK_HOST'] ?? '127.0.0.1';
  const listenHost = env['E2E_WEBHOOK_LISTEN'] ?? (isLoopback(webhookHost) ? webhookHost : '0.0.0.0');
  const auditLog = env['E2E_AUDIT_LOG'] === undefined || env['E2E_AUDIT_LOG'] === '' ? null : env['E2E_AUDIT_LOG'];
  const workDir = mkdtempSync(join(tmpdir(), 'dapr-guard-e2e-'));
  return {
    source: 'existing',
    kubeconfig,
    kubectl,
    ...versions,
    workDir,
    harnessDir: null,
    auditLog,
    webhookHost,
    listenHost,
  };
}

async function clusterVersions(kubectl: Kubectl): Promise<{ serverVersion: string; apiVersions: string[] }> {
  const version = JSON.parse((await kubectl.ok(['version', '-o', 'json'])).stdout) as {
    serverVersion?: { gitVersion?: string };
  };
  const match = /^v?(\d+\.\d+\.\d+)/.exec(version.serverVersion?.gitVersion ?? '');
  if (match?.[1] === undefined)
    throw new Error(`cannot read the API server version from kubectl version: ${JSON.stringify(version)}`);
  const apiVersions = (await kubectl.ok(['api-versions'])).stdout.split('\n').filter((line) => line !== '');
  return { serverVersion: match[1], apiVersions };
}

/**
 * What every scenario relies on: the namespace name label and the Dapr CRDs.
 * Returns the CRDs it created on an existing cluster (to be deleted at the end).
 */
async function prepareCluster(info: Omit<ClusterInfo, 'createdCrds'>): Promise<string[]> {
  const kubectl = new Kubectl(info.kubeconfig, info.kubectl);
  // The chart's namespaceSelectors match on kubernetes.io/metadata.name (NotIn kube-system and the
  // release namespace; In default for the control-plane entry). Kubernetes 1.21+ sets that label on
  // every namespace; 1.20 does not, so set it here as 1.21 would (a no-op on newer clusters).
  // Without it kube-system would NOT be excluded (NotIn matches a missing label) and `default` would
  // not be selected by the control-plane entry. Scenario namespaces get it when they are created.
  for (const namespace of ['kube-system', 'default']) {
    await kubectl.ok(['label', 'namespace', namespace, `kubernetes.io/metadata.name=${namespace}`, '--overwrite']);
  }
  return applyDaprCrds(kubectl, info.source === 'existing');
}

/**
 * Kubernetes 1.20's kubectl validation refuses mcpservers.yaml (x-kubernetes-validations, a 1.25
 * field); the API server itself accepts and prunes it (see test/fixtures/dapr-manifests/README.md).
 */
const CRDS_WITHOUT_CLIENT_VALIDATION = new Set(['mcpservers.yaml']);

async function applyDaprCrds(kubectl: Kubectl, onlyMissing: boolean): Promise<string[]> {
  const directory = join(DAPR_MANIFESTS, 'crds');
  const files = readdirSync(directory)
    .filter((file) => file.endsWith('.yaml'))
    .sort();
  const names: string[] = [];
  const created: string[] = [];
  for (const file of files) {
    const path = join(directory, file);
    const name = parseManifests(readFileSync(path, 'utf8'))[0]?.metadata?.name;
    if (name === undefined) throw new Error(`${path} has no CRD name`);
    names.push(name);
    // An existing cluster may run Dapr: its CRDs are left as they are.
    if (onlyMissing && (await kubectl.exists(['crd', name]))) continue;
    await kubectl.ok(['apply', '-f', path, ...(CRDS_WITHOUT_CLIENT_VALIDATION.has(file) ? ['--validate=false'] : [])]);
    if (onlyMissing) created.push(name);
  }
  await kubectl.ok(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((name) => `crd/${name}`)]);
  return created;
}

async function portFromEnv(env: NodeJS.ProcessEnv, name: string): Promise<number> {
  const value = env[name];
  return value === undefined || value === '' ? freePort() : Number(value);
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}
