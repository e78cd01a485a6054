import type { Finding, RuleContext, ValidatingRule } from './rule.ts';
import {
  embeddedCredential,
  isCredentialName,
  plaintextState,
  searchableText,
  type EmbeddedCredential,
} from './support/credentials.ts';
import { isDaprKind, secretStoreOf, type DaprKind } from './support/dapr-kinds.ts';
import { isQuotableHeaderName, isQuotableMetadataName } from './support/field-names.ts';
import { capFindings } from './support/findings.ts';
import { contextObjectName } from './support/objects.ts';
import { asArray, asRecord, asString, recordAt, type JsonRecord } from './support/json.ts';
import { fitMessage, messageBudget, type Clip } from './support/messages.ts';
import { declaredSensitiveFields, isKnownNotSecret } from './support/sensitive-fields.ts';

export const COMPONENT_PLAINTEXT_SECRETS_RULE_ID = 'component-plaintext-secrets';

const BUDGET = messageBudget(COMPONENT_PLAINTEXT_SECRETS_RULE_ID);

/**
 * Refuses credentials written as plaintext `value`s in Dapr objects: Component metadata, HTTPEndpoint
 * headers and client key, Configuration OTel exporter headers, and URLs with credentials anywhere there.
 * Messages name the object and field, never the value; a field whose name does not look like a name is
 * referred to by its position, since the name may be the secret.
 */
export function componentPlaintextSecretsRule(): ValidatingRule {
  return {
    id: COMPONENT_PLAINTEXT_SECRETS_RULE_ID,
    type: 'validating',
    description:
      'Refuses plaintext secrets in Dapr Components (sensitive metadata, URLs with credentials, dapr.io/component-container env), HTTPEndpoint headers/client keys, MCPServer headers/env and Configuration OTel headers: use secretKeyRef.',
    defaultMode: 'enforce',
    kinds: ['Component', 'HTTPEndpoint', 'Configuration', 'MCPServer'],
    validate: plaintextSecretFindings,
  };
}

function plaintextSecretFindings(context: RuleContext): Finding[] {
  const kind = context.request.kind;
  if (isDaprKind(kind, 'Component')) return listed(componentFindings(context), 'Component', context);
  if (isDaprKind(kind, 'HTTPEndpoint')) return listed(httpEndpointFindings(context), 'HTTPEndpoint', context);
  if (isDaprKind(kind, 'Configuration')) return listed(configurationFindings(context), 'Configuration', context);
  if (isDaprKind(kind, 'MCPServer')) return listed(mcpServerFindings(context), 'MCPServer', context);
  return [];
}

function listed(findings: readonly Finding[], kind: DaprKind, context: RuleContext): Finding[] {
  const name = contextObjectName(context);
  return capFindings(findings, (count) =>
    fitMessage(
      (clip) =>
        `${kind} "${clip(name)}": and ${count} more plaintext secrets or credentials, not listed here — use secretKeyRef for each of them too`,
      BUDGET,
    ),
  );
}

/** Where a plaintext value sits and how its secretKeyRef would look, for the message. */
interface Spot {
  readonly kind: DaprKind;
  readonly name: string;
  /** `spec.metadata`, `spec.clientTLS.privateKey` */
  readonly path: string;
  /** The metadata item or header name under `path`, when there is one and it may be quoted. */
  readonly field?: string;
  /** The key suggested for the Secret; `<key>` when there is no good default. */
  readonly key?: string;
  /** `auth.secretStore`, when the object names one. */
  readonly secretStore: string | undefined;
  /** For fields that take no secretKeyRef (URLs): where the credentials should go instead. */
  readonly moveTo?: string;
  /** A Kubernetes container's env: the reference is `valueFrom.secretKeyRef`, no secret store. */
  readonly containerEnv?: true;
}

type SpotBase = Pick<Spot, 'kind' | 'name' | 'secretStore' | 'containerEnv'>;

/** `name`: the field's name itself holds credentials (name and value swapped, `Server=…;Password=…`). */
type Problem = 'plaintext' | 'empty' | 'name' | EmbeddedCredential;

function componentFindings(context: RuleContext): Finding[] {
  const spec = asRecord(context.object['spec']);
  const specType = asString(spec?.['type']) ?? '';
  const declared = declaredSensitiveFields(specType);
  const isSensitive = (field: string): boolean =>
    declared.has(field.toLowerCase()) || (isCredentialName(field) && !isKnownNotSecret(specType, field));
  const base: SpotBase = {
    kind: 'Component',
    name: contextObjectName(context),
    secretStore: secretStoreOf(context.object),
  };
  const metadata = asArray(spec?.['metadata']).flatMap((entry, index) => {
    const item = asRecord(entry);
    const field = asString(item?.['name']);
    if (item === undefined || field === undefined) return [];
    const spot = namedSpot(base, { path: 'spec.metadata', index, name: field }, isQuotableMetadataName(field));
    return itemFindings(item, field, isSensitive(field), spot);
  });
  return [...metadata, ...componentContainerFindings(context.object, base)];
}

/** The pluggable component's container (JSON, Dapr 1.11+); Kubernetes' annotations are at most 256 KiB in all. */
const COMPONENT_CONTAINER_ANNOTATION = 'dapr.io/component-container';
const MAX_COMPONENT_CONTAINER_LENGTH = 256 * 1024;

/** `env[].value` of the container in `dapr.io/component-container`, by the same name logic; valueFrom is fine. */
function componentContainerFindings(object: unknown, base: SpotBase): Finding[] {
  const text = asString(recordAt(object, ['metadata', 'annotations'])?.[COMPONENT_CONTAINER_ANNOTATION]);
  if (text === undefined || text.length > MAX_COMPONENT_CONTAINER_LENGTH) return [];
  const container = parsedJson(text);
  const path = `${COMPONENT_CONTAINER_ANNOTATION} env`;
  return envFindings(asRecord(container)?.['env'], { ...base, secretStore: undefined, containerEnv: true }, path);
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Dapr refuses the Component itself then; there is nothing to read.
    return undefined;
  }
}

/** MCPServer (Dapr 1.18): headers and URL of the sse and streamableHTTP endpoints, env of the stdio one. */
function mcpServerFindings(context: RuleContext): Finding[] {
  const endpoint = recordAt(context.object, ['spec', 'endpoint']);
  const name = contextObjectName(context);
  const remote = (['sse', 'streamableHTTP'] as const).flatMap((transport) => {
    const settings = asRecord(endpoint?.[transport]);
    const base: SpotBase = {
      kind: 'MCPServer',
      name,
      secretStore: nonEmptyString(recordAt(settings, ['auth'])?.['secretStore']),
    };
    const path = `spec.endpoint.${transport}`;
    return [
      ...urlFindings(settings?.['url'], { ...base, path: `${path}.url`, moveTo: `a ${path}.headers entry` }),
      ...headerFindings(settings?.['headers'], base, `${path}.headers`),
    ];
  });
  const stdio: SpotBase = { kind: 'MCPServer', name, secretStore: undefined };
  return [...remote, ...envFindings(recordAt(endpoint, ['stdio'])?.['env'], stdio, 'spec.endpoint.stdio.env')];
}

function nonEmptyString(value: unknown): string | undefined {
  const text = asString(value);
  return text === undefined || text === '' ? undefined : text;
}

/** Environment variables `{name, value}` are named like metadata fields (`API_TOKEN`, `DB_PASSWORD`). */
function envFindings(env: unknown, base: SpotBase, path: string): Finding[] {
  return asArray(env).flatMap((entry, index) => {
    const variable = asRecord(entry);
    const name = asString(variable?.['name']);
    if (variable === undefined || name === undefined) return [];
    const spot = namedSpot(base, { path, index, name }, isQuotableHeaderName(name));
    return itemFindings(variable, name, isCredentialName(name), spot);
  });
}

function httpEndpointFindings(context: RuleContext): Finding[] {
  const spec = asRecord(context.object['spec']);
  const base: SpotBase = {
    kind: 'HTTPEndpoint',
    name: contextObjectName(context),
    secretStore: secretStoreOf(context.object),
  };
  const privateKey = recordAt(spec, ['clientTLS', 'privateKey']);
  return [
    ...urlFindings(spec?.['baseUrl'], { ...base, path: 'spec.baseUrl', moveTo: 'a spec.headers entry' }),
    ...headerFindings(spec?.['headers'], base, 'spec.headers'),
    ...(privateKey === undefined
      ? []
      : valueFindings(privateKey, true, { ...base, path: 'spec.clientTLS.privateKey', key: 'tls.key' })),
  ];
}

function configurationFindings(context: RuleContext): Finding[] {
  const tracing = recordAt(context.object, ['spec', 'tracing']);
  const otel = asRecord(tracing?.['otel']);
  const base: SpotBase = { kind: 'Configuration', name: contextObjectName(context), secretStore: undefined };
  const endpoint = (path: string, value: unknown): Finding[] =>
    urlFindings(value, { ...base, path: `spec.tracing.${path}`, moveTo: 'a spec.tracing.otel.headers entry' });
  return [
    ...headerFindings(otel?.['headers'], base, 'spec.tracing.otel.headers'),
    ...endpoint('otel.endpointAddress', otel?.['endpointAddress']),
    ...endpoint('zipkin.endpointAddress', recordAt(tracing, ['zipkin'])?.['endpointAddress']),
  ];
}

function headerFindings(headers: unknown, base: SpotBase, path: string): Finding[] {
  return asArray(headers).flatMap((entry, index) => {
    const header = asRecord(entry);
    const name = asString(header?.['name']);
    if (header === undefined || name === undefined) return [];
    return itemFindings(
      header,
      name,
      isCredentialName(name),
      namedSpot(base, { path, index, name }, isQuotableHeaderName(name)),
    );
  });
}

/** `spec.metadata redisPassword`, or `spec.metadata[3]` with no suggested key when the name may be the secret. */
function namedSpot(
  base: SpotBase,
  { path, index, name }: { path: string; index: number; name: string },
  quotable: boolean,
): Spot {
  return quotable ? { ...base, path, field: name, key: name } : { ...base, path: `${path}[${index}]` };
}

/** A name that holds credentials is refused whatever the value: it is stored and shown like one. */
function itemFindings(holder: JsonRecord, name: string, sensitive: boolean, spot: Spot): Finding[] {
  if (embeddedCredential(name) !== undefined) return [finding(spot, 'name')];
  return valueFindings(holder, sensitive, spot);
}

/** A sensitive field must not hold a plaintext value; any other value must not embed credentials. */
function valueFindings(holder: JsonRecord, sensitive: boolean, spot: Spot): Finding[] {
  const state = plaintextState(holder);
  if (state === 'absent') return [];
  if (state === 'empty') return sensitive ? [finding(spot, 'empty')] : [];
  const embedded = embeddedCredentialIn(holder['value']);
  if (embedded !== undefined) return [finding(spot, embedded)];
  return sensitive ? [finding(spot, 'plaintext')] : [];
}

function urlFindings(value: unknown, spot: Spot): Finding[] {
  const embedded = embeddedCredentialIn(value);
  return embedded === undefined ? [] : [finding(spot, embedded)];
}

function embeddedCredentialIn(value: unknown): EmbeddedCredential | undefined {
  const text = searchableText(value);
  return text === undefined ? undefined : embeddedCredential(text);
}

function finding(spot: Spot, problem: Problem): Finding {
  const message = fitMessage((clip) => renderMessage(spot, problem, clip), BUDGET);
  // An empty value leaks nothing: advice, not a refusal.
  return problem === 'empty' ? { message, maxMode: 'warn' } : { message };
}

const PROBLEM_TEXT: Readonly<Record<Problem, string>> = {
  plaintext: 'is a plaintext secret',
  empty: 'is empty',
  name: 'has credentials in its name',
  url: 'has credentials in a URL',
  'connection-string': 'has credentials in a connection string',
};

function renderMessage(spot: Spot, problem: Problem, clip: Clip): string {
  const where = spot.field === undefined ? spot.path : `${spot.path} ${clip(spot.field)}`;
  const subject = `${spot.kind} "${clip(spot.name)}": ${where} ${PROBLEM_TEXT[problem]}`;
  const key = spot.key === undefined ? '<key>' : clip(secretKeyFor(spot.key));
  const reference =
    spot.containerEnv === true
      ? `valueFrom: {secretKeyRef: {name: <secret>, key: ${key}}}`
      : `secretKeyRef: {name: <secret>, key: ${key}}`;
  if (problem === 'empty') return `${subject} — remove it, or use ${reference} if a secret is needed`;
  if (problem === 'name')
    return `${subject} — name it after the setting and take the credentials from ${reference}${storeHint(spot, clip)}`;
  const fix = spot.moveTo === undefined ? `use ${reference}` : `move them to ${spot.moveTo} with ${reference}`;
  return `${subject} — ${fix}${storeHint(spot, clip)}`;
}

function storeHint(spot: Spot, clip: Clip): string {
  if (spot.containerEnv === true) return '';
  if (spot.kind === 'Configuration') return ' or envRef';
  if (spot.secretStore !== undefined) return ` from secret store ${clip(spot.secretStore)}`;
  return ' (Kubernetes Secret or auth.secretStore)';
}

/** Secret keys allow only `[-._a-zA-Z0-9]` (`header:x-api-key` → `header-x-api-key`). */
function secretKeyFor(field: string): string {
  const key = field.replace(/[^-.\w]/g, '-');
  return key === '' ? 'value' : key;
}
