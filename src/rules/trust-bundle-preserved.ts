import type { KubeObject } from '../admission/wire.ts';
import type { Finding, RuleContext, ValidatingRule } from './rule.ts';
import { certificateIdentities, MAX_BUNDLE_LENGTH } from './support/certificates.ts';
import { asRecord, asString } from './support/json.ts';
import { fitMessage, messageBudget } from './support/messages.ts';

export const TRUST_BUNDLE_PRESERVED_RULE_ID = 'trust-bundle-preserved';

const BUDGET = messageBudget(TRUST_BUNDLE_PRESERVED_RULE_ID);

/** The Secret (root, issuer certificate and key) and ConfigMap (root only) that Sentry and the chart keep. */
export const TRUST_BUNDLE_NAME = 'dapr-trust-bundle';

/** The key of the root certificate in both objects (the chart's `global.issuerFilenames.ca`). */
const ROOT_KEY = 'ca.crt';

/** The page's remedy: carry the current root and issuer over into the upgrade. */
const CARRY_OVER =
  'dapr mtls export; helm upgrade … --set-file dapr_sentry.tls.root.certPEM=ca.crt,dapr_sentry.tls.issuer.certPEM=issuer.crt,dapr_sentry.tls.issuer.keyPEM=issuer.key';

/**
 * Warns when an update of the trust bundle drops the root certificate it had: sidecars and control-plane
 * services that still trust the old root cannot talk to those issued from the new one until each restarts.
 * Only the root is compared (as certificates, not bytes); the issuer may rotate. Nothing of the objects'
 * data (certificates, the issuer key) ever reaches a message.
 */
export function trustBundlePreservedRule(): ValidatingRule {
  return {
    id: TRUST_BUNDLE_PRESERVED_RULE_ID,
    type: 'validating',
    description:
      'Warns when an update of the Secret or ConfigMap dapr-trust-bundle drops its root certificate (carry root and issuer over on upgrades).',
    defaultMode: 'warn',
    kinds: ['Secret', 'ConfigMap'],
    validate: droppedRootFindings,
  };
}

function droppedRootFindings(context: RuleContext): Finding[] {
  const kind = context.request.kind;
  if (kind.group !== '' || !isTrustBundleKind(kind.kind)) return [];
  // Cheap first: every other Secret and ConfigMap the webhook may be sent (Kubernetes < 1.28) stops here.
  if (nameOf(context) !== TRUST_BUNDLE_NAME) return [];
  if (context.request.operation !== 'UPDATE' || context.oldObject === undefined) return [];
  const before = rootText(context.oldObject, kind.kind);
  // An empty bundle (the chart creates the Secret empty; Sentry fills it on first start) has no root to keep;
  // one that cannot be read gives nothing to compare.
  if (typeof before !== 'string' || before.trim() === '') return [];
  const old = certificateIdentities(before);
  if (!old.ok) return [];
  const problem = problemOf(old.identities, rootText(context.object, kind.kind));
  return problem === undefined ? [] : [{ message: render(kind.kind, problem) }];
}

type TrustBundleKind = 'Secret' | 'ConfigMap';

function isTrustBundleKind(kind: string): kind is TrustBundleKind {
  return kind === 'Secret' || kind === 'ConfigMap';
}

function nameOf(context: RuleContext): string | undefined {
  return asString(asRecord(context.object.metadata)?.['name']) ?? context.request.name;
}

/** A Secret's base64 `ca.crt` too long to decode: its text would be longer than any bundle read. */
const TOO_LARGE = Symbol('too large');

/** Base64 takes 4 characters for 3 bytes. */
const MAX_ENCODED_LENGTH = Math.ceil(MAX_BUNDLE_LENGTH / 3) * 4;

/**
 * `ca.crt` as text: a ConfigMap's `data` holds it as it is, a Secret's `data` in base64. A Secret's
 * `stringData` (offline manifests; the API server merges it into `data` before admission) wins.
 */
function rootText(object: KubeObject, kind: TrustBundleKind): string | typeof TOO_LARGE | undefined {
  const record = asRecord(object);
  const plain = asString(asRecord(record?.[kind === 'Secret' ? 'stringData' : 'data'])?.[ROOT_KEY]);
  if (plain !== undefined || kind === 'ConfigMap') return plain;
  const encoded = asString(asRecord(record?.['data'])?.[ROOT_KEY]);
  if (encoded === undefined) return undefined;
  return encoded.length > MAX_ENCODED_LENGTH ? TOO_LARGE : Buffer.from(encoded, 'base64').toString('latin1');
}

/** Why the new `ca.crt` no longer holds every old root, or undefined when it does. */
function problemOf(oldRoots: readonly string[], after: string | typeof TOO_LARGE | undefined): string | undefined {
  if (after === undefined || (typeof after === 'string' && after.trim() === '')) return `drops ${ROOT_KEY}`;
  const current = after === TOO_LARGE ? undefined : certificateIdentities(after);
  if (current?.ok !== true) return `has a bad ${ROOT_KEY}`;
  const kept = new Set(current.identities);
  return oldRoots.every((root) => kept.has(root)) ? undefined : 'drops its root CA';
}

function render(kind: TrustBundleKind, problem: string): string {
  return fitMessage(() => `${kind} ${TRUST_BUNDLE_NAME} ${problem} — carry it over: ${CARRY_OVER}`, BUDGET);
}
