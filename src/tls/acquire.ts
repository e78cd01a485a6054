import type { Logger } from 'pino';
import { applyRotation, planRotation, type RotationPolicy, type StoredCertificates } from './rotation.ts';

/** The Secret that all replicas share; `resourceVersion` makes concurrent writers take turns. */
export interface CertificateStore {
  read(): Promise<
    { readonly certificates: StoredCertificates | undefined; readonly resourceVersion: string | undefined } | undefined
  >;
  /** false when another replica created it first. */
  create(certificates: StoredCertificates): Promise<boolean>;
  /** false when another replica changed it since `resourceVersion`. */
  replace(certificates: StoredCertificates, resourceVersion: string): Promise<boolean>;
}

/** Where the webhook configurations' caBundle is kept in step. */
export interface CaBundlePublisher {
  /** Sets caBundle on every webhook of both configurations; returns how many were changed. */
  publish(caBundlePem: string): Promise<number>;
}

const MAX_ATTEMPTS = 5;

/**
 * Returns certificates every replica agrees on: the stored ones when still good, otherwise renewed
 * ones written with optimistic concurrency (a replica that loses the race takes the winner's).
 */
export async function acquireCertificates(
  store: CertificateStore,
  policy: RotationPolicy,
  now: () => Date,
  log: Logger,
): Promise<StoredCertificates> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const current = await store.read();
    const plan = planRotation(current?.certificates, policy, now());
    if (plan.action === 'keep' && current?.certificates !== undefined) return current.certificates;
    const renewed = applyRotation(current?.certificates, plan, policy, now());
    const written =
      current === undefined ? await store.create(renewed) : await store.replace(renewed, current.resourceVersion ?? '');
    if (written) {
      log.info({ action: plan.action, reason: plan.reason }, 'self-managed certificates written');
      return renewed;
    }
    log.info({ attempt }, 'another replica updated the certificate Secret first; reading it again');
  }
  throw new Error(`could not agree on certificates after ${MAX_ATTEMPTS} attempts`);
}

export interface WebhookList {
  readonly webhooks?: readonly { readonly name: string; readonly clientConfig: { readonly caBundle?: string } }[];
}

/**
 * JSON Patch setting caBundle on every webhook that lacks it: each change is guarded by a `test` of the
 * webhook's name, so a configuration edited in between fails the patch instead of being corrupted.
 */
export function caBundleOperations(configuration: WebhookList, caBundle: string): object[] {
  return (configuration.webhooks ?? []).flatMap((webhook, index) =>
    webhook.clientConfig.caBundle === caBundle
      ? []
      : [
          { op: 'test', path: `/webhooks/${index}/name`, value: webhook.name },
          { op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundle },
        ],
  );
}
