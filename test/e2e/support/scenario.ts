/**
 * One scenario file's world: a cluster (the run's shared one, or its own when the file runs
 * alone), a dapr-guard process, the chart's webhook configurations pointed at it, and namespaces
 * of its own; all removed again in `stop`.
 *
 *   const scenario = new Scenario({ name: 'sidecar', guard: { mode: 'enforce' }, namespaces: { app: {} } });
 *   before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
 *   after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });
 *   test('…', scenario.check(async () => { const ns = scenario.namespace('app'); … }));
 *
 * `check` attaches dapr-guard's log to a failure and keeps the run's logs on disk.
 */
import type { TestContext } from 'node:test';
import type { KubeObject } from '../../../src/admission/wire.ts';
import { markFailed, sharedCluster, startCluster, stopCluster, type ClusterInfo } from './cluster.ts';
import { DaprGuard, type GuardOptions } from './dapr-guard.ts';
import { describeResult, Kubectl, toManifest } from './kubectl.ts';
import { daprApp, deployment, namespaceObject, randomSuffix } from './objects.ts';
import { register, renderRegistration, unregister, type Registration } from './webhooks.ts';
import { eventually } from './wait.ts';

/** Long enough for a cluster start when a file runs alone (kube-up.sh takes ~10 s, more on a busy machine). */
export const SETUP_TIMEOUT_MS = 300_000;

export interface ScenarioOptions {
  /** Short name, used in namespace names and dapr-guard's log directory. */
  readonly name: string;
  readonly guard: GuardOptions;
  /** Namespaces to create, by key, with extra labels. */
  readonly namespaces?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** More to wait for before the tests run (part of `start`, so a failure comes with dapr-guard's log). */
  readonly ready?: () => Promise<void>;
  /** More chart values for the webhook registration, given the real name of each namespace key. */
  readonly chartValues?: (namespace: (key: string) => string) => Record<string, unknown>;
}

export class Scenario {
  readonly options: ScenarioOptions;
  private clusterInfo: ClusterInfo | undefined;
  private ownsCluster = false;
  private client: Kubectl | undefined;
  private process: DaprGuard | undefined;
  private registration: Registration | undefined;
  private readonly namespaceNames = new Map<string, string>();
  private readonly cleanups: { readonly args: readonly string[]; readonly input?: string }[] = [];
  private probes = 0;

  constructor(options: ScenarioOptions) {
    this.options = options;
    const suffix = randomSuffix();
    for (const key of Object.keys(options.namespaces ?? {}))
      this.namespaceNames.set(key, `e2e-${options.name}-${key}-${suffix}`.slice(0, 63));
  }

  get cluster(): ClusterInfo {
    if (this.clusterInfo === undefined) throw new Error('the scenario has not started');
    return this.clusterInfo;
  }

  get kubectl(): Kubectl {
    if (this.client === undefined) throw new Error('the scenario has not started');
    return this.client;
  }

  get guard(): DaprGuard {
    if (this.process === undefined) throw new Error('the scenario has not started');
    return this.process;
  }

  /** The real name of one of the scenario's namespaces. */
  namespace(key: string): string {
    const name = this.namespaceNames.get(key);
    if (name === undefined) throw new Error(`the scenario has no namespace "${key}"`);
    return name;
  }

  async start(): Promise<void> {
    const started = Date.now();
    const shared = sharedCluster();
    this.ownsCluster = shared === undefined;
    this.clusterInfo = shared ?? (await startCluster());
    this.client = new Kubectl(this.cluster.kubeconfig, this.cluster.kubectl);
    try {
      this.process = await DaprGuard.start(this.cluster, this.options.name, this.options.guard);
      const values = this.options.chartValues?.((key) => this.namespace(key)) ?? {};
      this.registration = renderRegistration(this.cluster, this.guard, this.options.guard.mode, values);
      await register(this.kubectl, this.registration);
      const namespaces = [...this.namespaceNames.entries()].map(([key, name]) =>
        namespaceObject(name, this.options.namespaces?.[key] ?? {}),
      );
      if (namespaces.length > 0) await this.kubectl.ok(['apply', '-f', '-'], { input: toManifest(namespaces) });
      for (const name of this.namespaceNames.values()) await this.waitUntilReviewed(name);
      await this.options.ready?.();
      debug(`${this.options.name}: started in ${Date.now() - started} ms`);
    } catch (error: unknown) {
      markFailed(this.cluster, `${this.options.name}: setup`);
      throw this.withLog(error);
    }
  }

  /**
   * Waits until a server-side dry run of a Dapr-enabled Deployment in `namespace` reaches this
   * scenario's dapr-guard at /mutate and /validate: the configurations take effect asynchronously
   * (~0.2 s), and a previous scenario's registration may still be in place until then.
   */
  async waitUntilReviewed(namespace: string): Promise<void> {
    await eventually(
      async () => {
        this.probes += 1;
        const name = `probe-${this.probes}`;
        const result = await this.kubectl.create(deployment(name, namespace, daprApp(name)), [
          '--dry-run=server',
          '-o',
          'name',
        ]);
        if (result.code !== 0) throw new Error(describeResult(`dry-run of the probe ${namespace}/${name}`, result));
        const endpoints = new Set((await this.guard.reviews({ name, namespace })).map((review) => review.endpoint));
        return endpoints.has('mutate') && endpoints.has('validate') ? true : undefined;
      },
      {
        description: `dapr-guard (port ${this.guard.port}) to review Deployments in namespace ${namespace} at /mutate and /validate`,
      },
    );
  }

  /**
   * Creates one more namespace (`e2e-<scenario>-<key>-<suffix>`, with the name label), deleted in
   * `stop`; unlike the ones in the options, nothing waits for dapr-guard to review it.
   */
  async createNamespace(key: string, labels: Readonly<Record<string, string>> = {}): Promise<string> {
    const name = `e2e-${this.options.name}-${key}-${randomSuffix()}`.slice(0, 63);
    await this.kubectl.ok(['apply', '-f', '-'], { input: toManifest(namespaceObject(name, labels)) });
    this.cleanUpLater(['delete', 'namespace', name, '--ignore-not-found', '--wait=false']);
    return name;
  }

  /** A kubectl command (such as `-n kube-system delete deployment x --ignore-not-found`) to run in `stop`. */
  cleanUpLater(args: readonly string[], input?: string): void {
    this.cleanups.push(input === undefined ? { args } : { args, input });
  }

  /** Deletes these objects in `stop`, without waiting (they need not exist). */
  deleteLater(objects: readonly KubeObject[]): void {
    if (objects.length > 0)
      this.cleanUpLater(['delete', '-f', '-', '--ignore-not-found', '--wait=false'], toManifest(objects));
  }

  /** Wraps a test body: on failure, dapr-guard's log is attached and the run's logs are kept. */
  check(body: (t: TestContext) => Promise<void>): (t: TestContext) => Promise<void> {
    return async (t) => {
      try {
        await body(t);
      } catch (error: unknown) {
        if (this.clusterInfo !== undefined) markFailed(this.clusterInfo, `${this.options.name}: ${t.name}`);
        throw this.withLog(error);
      }
    };
  }

  /** Stops dapr-guard, unregisters, deletes what the scenario made (namespaces without waiting). */
  async stop(): Promise<void> {
    if (this.clusterInfo === undefined) return;
    const problems: string[] = [];
    const attempt = async (what: string, action: () => Promise<unknown>): Promise<void> => {
      const started = Date.now();
      try {
        await action();
      } catch (error: unknown) {
        problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
      debug(`${this.options.name}: ${what} took ${Date.now() - started} ms`);
    };
    // dapr-guard first, and how it ended: a process that needs SIGKILL is a dapr-guard bug worth seeing.
    if (this.process !== undefined) {
      const guard = this.process;
      await attempt('stop dapr-guard', async () => {
        const ended = await guard.stop();
        // Not this scenario's subject (outage-and-exclusions asserts a clean exit), but worth a loud note.
        if (ended.signal === 'SIGKILL') {
          markFailed(this.cluster, `${this.options.name}: dapr-guard had to be killed`);
          process.stderr.write(
            `\ne2e: WARNING: dapr-guard (${this.options.name}) did not exit after SIGTERM and its grace period; killed. Log: ${guard.logFile}\n`,
          );
        }
      });
    }
    if (this.client !== undefined) {
      const kubectl = this.client;
      if (this.registration !== undefined) {
        const registration = this.registration;
        await attempt('unregister the webhooks', () => unregister(kubectl, registration));
      }
      for (const { args, input } of this.cleanups)
        await attempt(`kubectl ${args.join(' ')}`, () => kubectl.ok(args, input === undefined ? {} : { input }));
      const namespaces = [...this.namespaceNames.values()];
      if (namespaces.length > 0) {
        await attempt('delete the namespaces', () =>
          kubectl.ok(['delete', 'namespace', ...namespaces, '--ignore-not-found', '--wait=false']),
        );
      }
    }
    if (this.ownsCluster) await attempt('stop the cluster', () => stopCluster(this.cluster));
    if (problems.length > 0)
      throw new Error(`cleanup of scenario ${this.options.name} failed:\n${problems.join('\n')}`);
  }

  private withLog(error: unknown): unknown {
    if (this.process === undefined || !(error instanceof Error)) return error;
    const log = `\n\n--- dapr-guard log ${this.process.logFile} (last lines) ---\n${this.process.logTail()}\n--- end of dapr-guard log ---`;
    error.message += log;
    // Reporters print the stack, which was captured with the original message.
    if (error.stack !== undefined) error.stack += log;
    return error;
  }
}

/** Timings on stderr with E2E_DEBUG=1. */
function debug(message: string): void {
  if (process.env['E2E_DEBUG'] === '1') process.stderr.write(`e2e: ${message}\n`);
}
