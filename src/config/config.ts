import { isMode, MODES, type Mode } from '../admission/mode.ts';
import { ruleOptionKeys, ruleOptionProblems } from '../rules/index.ts';
import type { RuleOptions } from '../rules/rule.ts';
import { readSidecarResourcesOptions, SIDECAR_RESOURCES_RULE_ID } from '../rules/sidecar-resources.ts';
import type { SidecarResourceValues } from '../rules/support/dapr-annotations.ts';
import type { Guidelines } from '../rules/support/guidelines.ts';
import type { TlsSettings } from '../tls/serving.ts';
import { deepMerge, describeSetting as describe, isRecord, type JsonRecord } from '../util/json.ts';
import { OPTIONS, type OptionSpec } from './options.ts';

export type NamespaceModeSource = 'auto' | 'kubernetes' | 'off';

export interface RuleSettings {
  readonly enabled: boolean;
  /** Undefined: the rule's default mode, capped by the global mode. */
  readonly mode: Mode | undefined;
}

export interface Config {
  readonly mode: Mode;
  /** The edition of the Dapr production guidelines the rules' defaults follow. */
  readonly guidelines: Guidelines;
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly bodyLimitBytes: number;
    readonly maxInflightBodyBytes: number;
    readonly requestTimeoutSeconds: number;
    readonly headersTimeoutSeconds: number;
    readonly maxConcurrentStreams: number;
    readonly maxConnections: number;
    readonly shutdownDelaySeconds: number;
    readonly shutdownGracePeriodSeconds: number;
  };
  readonly tls: TlsSettings & {
    readonly selfManaged: TlsSettings['selfManaged'] & {
      readonly enabled: boolean;
      readonly secretName: string;
      readonly secretNamespace: string;
      readonly mutatingWebhookConfiguration: string;
      readonly validatingWebhookConfiguration: string;
      readonly checkIntervalSeconds: number;
    };
  };
  readonly metrics: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly log: { readonly level: string };
  readonly exemptions: {
    readonly enabled: boolean;
    readonly allowedGroups: readonly string[];
    readonly namespaces: readonly string[];
  };
  readonly namespaceModes: { readonly source: NamespaceModeSource };
  readonly rules: Readonly<Record<string, RuleSettings>>;
  /** Each rule's own keys of `rules.<id>` (besides mode and enabled), checked by the rule. */
  readonly ruleOptions: Readonly<Record<string, RuleOptions>>;
  /** The sidecar-resources rule's defaults as that rule reads them from `ruleOptions`, for the startup log and tests. */
  readonly sidecarDefaults: SidecarResourceValues;
}

/** A configuration layer as read from YAML, environment or flags: nested plain values, unchecked. */
export type ConfigLayer = JsonRecord;

/** A configuration problem, naming the key and what it accepts; startup stops on any of them. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Merges the layers (later wins) over the defaults and checks every value.
 * `ruleIds` are the rules that exist, so a typo in `rules.<id>` is caught.
 */
export function buildConfig(
  layers: readonly ConfigLayer[],
  ruleIds: readonly string[],
  nameOf: (path: string) => string = (path) => path,
): Config {
  const merged = layers.reduce<ConfigLayer>((accumulated, layer) => deepMerge(accumulated, layer), {});
  const problems = [...unknownKeyProblems(merged, ruleIds, nameOf)];
  const scalar = (spec: OptionSpec): unknown => {
    const result = checkOption({ ...spec, path: nameOf(spec.path) }, valueAt(merged, spec.path));
    if (typeof result === 'string') problems.push(result);
    return typeof result === 'string' ? spec.default : result.value;
  };
  const values = new Map(OPTIONS.map((spec) => [spec.path, scalar(spec)]));
  problems.push(...serverLimitProblems(values));
  const rules = readRules(merged['rules'], ruleIds, problems, nameOf);
  const ruleOptions = readRuleOptions(merged['rules'], ruleIds, values.get('guidelines') as Guidelines, problems);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return assemble(values, rules, ruleOptions);
}

function assemble(
  values: ReadonlyMap<string, unknown>,
  rules: Record<string, RuleSettings>,
  ruleOptions: Record<string, RuleOptions>,
): Config {
  const get = <T>(path: string): T => values.get(path) as T;
  return {
    mode: get('mode'),
    guidelines: get('guidelines'),
    server: {
      host: get('server.host'),
      port: get('server.port'),
      bodyLimitBytes: get('server.bodyLimitBytes'),
      maxInflightBodyBytes: get('server.maxInflightBodyBytes'),
      requestTimeoutSeconds: get('server.requestTimeoutSeconds'),
      headersTimeoutSeconds: get('server.headersTimeoutSeconds'),
      maxConcurrentStreams: get('server.maxConcurrentStreams'),
      maxConnections: get('server.maxConnections'),
      shutdownDelaySeconds: get('server.shutdownDelaySeconds'),
      shutdownGracePeriodSeconds: get('server.shutdownGracePeriodSeconds'),
    },
    tls: {
      certFile: get('tls.certFile'),
      keyFile: get('tls.keyFile'),
      caFile: get('tls.caFile'),
      clientCAFile: get('tls.clientCAFile'),
      generateIfMissing: get('tls.generateIfMissing'),
      dnsNames: get('tls.dnsNames'),
      serviceName: get('tls.serviceName'),
      serviceNamespace: get('tls.serviceNamespace'),
      reloadIntervalSeconds: get('tls.reloadIntervalSeconds'),
      selfManaged: {
        enabled: get('tls.selfManaged.enabled'),
        secretName: get('tls.selfManaged.secretName'),
        secretNamespace: get('tls.selfManaged.secretNamespace'),
        mutatingWebhookConfiguration: get('tls.selfManaged.mutatingWebhookConfiguration'),
        validatingWebhookConfiguration: get('tls.selfManaged.validatingWebhookConfiguration'),
        validityDays: get('tls.selfManaged.validityDays'),
        renewBeforeDays: get('tls.selfManaged.renewBeforeDays'),
        checkIntervalSeconds: get('tls.selfManaged.checkIntervalSeconds'),
      },
    },
    metrics: { enabled: get('metrics.enabled'), host: get('metrics.host'), port: get('metrics.port') },
    log: { level: get('log.level') },
    exemptions: {
      enabled: get('exemptions.enabled'),
      allowedGroups: get('exemptions.allowedGroups'),
      namespaces: get('exemptions.namespaces'),
    },
    namespaceModes: { source: get('namespaceModes.source') },
    rules,
    ruleOptions,
    sidecarDefaults: readSidecarResourcesOptions(ruleOptions[SIDECAR_RESOURCES_RULE_ID] ?? {}, get('guidelines'))
      .defaults,
  };
}

/** Limits that only make sense relative to each other. */
function serverLimitProblems(values: ReadonlyMap<string, unknown>): string[] {
  const number = (path: string): number => values.get(path) as number;
  const problems: string[] = [];
  if (number('server.maxInflightBodyBytes') < number('server.bodyLimitBytes')) {
    problems.push(
      `server.maxInflightBodyBytes (${number('server.maxInflightBodyBytes')}) must be at least server.bodyLimitBytes (${number('server.bodyLimitBytes')}): a review of the largest size could never be read`,
    );
  }
  if (number('server.headersTimeoutSeconds') > number('server.requestTimeoutSeconds')) {
    problems.push(
      `server.headersTimeoutSeconds (${number('server.headersTimeoutSeconds')}) must not be above server.requestTimeoutSeconds (${number('server.requestTimeoutSeconds')})`,
    );
  }
  return problems;
}

type Checked = { readonly value: unknown } | string;

/** Checks one scalar; strings from env/flags are converted to the option's type. */
function checkOption(spec: OptionSpec, raw: unknown): Checked {
  if (raw === undefined) return { value: spec.default };
  const type = spec.type;
  switch (type.kind) {
    case 'string':
      return typeof raw === 'string' ? { value: raw } : `${spec.path} must be a string, got ${describe(raw)}`;
    case 'boolean':
      return checkBoolean(spec.path, raw);
    case 'integer':
      return checkInteger(spec.path, raw, type.min, type.max);
    case 'enum':
      return typeof raw === 'string' && type.values.includes(raw)
        ? { value: raw }
        : `${spec.path} must be one of ${type.values.join(', ')}, got ${describe(raw)}`;
    case 'list':
      return checkList(spec.path, raw);
  }
}

function checkBoolean(path: string, raw: unknown): Checked {
  if (typeof raw === 'boolean') return { value: raw };
  if (raw === 'true' || raw === 'false') return { value: raw === 'true' };
  return `${path} must be true or false, got ${describe(raw)}`;
}

function checkInteger(path: string, raw: unknown, min: number, max: number): Checked {
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return { value };
  return `${path} must be an integer from ${min} to ${max}, got ${describe(raw)}`;
}

function checkList(path: string, raw: unknown): Checked {
  if (typeof raw === 'string')
    return {
      value: raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    };
  if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) return { value: raw };
  return `${path} must be a list of strings, got ${describe(raw)}`;
}

function readRules(
  raw: unknown,
  ruleIds: readonly string[],
  problems: string[],
  nameOf: (path: string) => string,
): Record<string, RuleSettings> {
  const section = isRecord(raw) ? raw : {};
  return Object.fromEntries(ruleIds.map((id) => [id, readRuleSettings(id, section[id], problems, nameOf)]));
}

function readRuleSettings(
  id: string,
  raw: unknown,
  problems: string[],
  nameOf: (path: string) => string,
): RuleSettings {
  if (raw === undefined) return { enabled: true, mode: undefined };
  if (!isRecord(raw)) {
    problems.push(`${nameOf(`rules.${id}`)} must be a mapping with mode and/or enabled, got ${describe(raw)}`);
    return { enabled: true, mode: undefined };
  }
  const mode = raw['mode'];
  if (mode !== undefined && !isMode(mode))
    problems.push(`${nameOf(`rules.${id}.mode`)} must be one of ${MODES.join(', ')}, got ${describe(mode)}`);
  const enabled = checkBoolean(nameOf(`rules.${id}.enabled`), raw['enabled'] ?? true);
  if (typeof enabled === 'string') problems.push(enabled);
  return {
    enabled: typeof enabled === 'string' ? true : (enabled.value as boolean),
    mode: isMode(mode) ? mode : undefined,
  };
}

/** Each rule's own options, checked by the rule; its problems are reported under `rules.<id>.`. */
function readRuleOptions(
  raw: unknown,
  ruleIds: readonly string[],
  guidelines: Guidelines,
  problems: string[],
): Record<string, RuleOptions> {
  const section = isRecord(raw) ? raw : {};
  return Object.fromEntries(
    ruleIds.map((id) => {
      const settings = section[id];
      const options = isRecord(settings) ? withoutKeys(settings, RULE_KEYS) : {};
      problems.push(...ruleOptionProblems(id, options, guidelines).map((problem) => `rules.${id}.${problem}`));
      return [id, options];
    }),
  );
}

function withoutKeys(record: JsonRecord, keys: ReadonlySet<string>): JsonRecord {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.has(key)));
}

const RULE_KEYS = new Set(['mode', 'enabled']);

/** `nameOf` says where a key came from (`logg in dapr-guard.yaml`, `--rule-mode nope=…`). */
function unknownKeyProblems(
  merged: ConfigLayer,
  ruleIds: readonly string[],
  nameOf: (path: string) => string,
): string[] {
  const leaves = new Set(OPTIONS.map((spec) => spec.path));
  const { rules, ...rest } = merged;
  return [...unknownRuleKeys(rules, ruleIds, nameOf), ...unknownKeysUnder('', rest, leaves, nameOf)];
}

/** Keys that are neither an option nor a section on the way to one, named with the keys accepted there. */
function unknownKeysUnder(
  prefix: string,
  section: Record<string, unknown>,
  leaves: ReadonlySet<string>,
  nameOf: (path: string) => string,
): string[] {
  const accepted = childKeys(prefix, leaves);
  return Object.entries(section).flatMap(([key, value]) => {
    const path = `${prefix}${key}`;
    if (!accepted.includes(key)) {
      return [
        `unknown key ${nameOf(path)}; known keys${prefix === '' ? '' : ` under ${prefix.slice(0, -1)}`}: ${accepted.join(', ')}`,
      ];
    }
    if (leaves.has(path)) return [];
    if (!isRecord(value))
      return [
        `${nameOf(path)} must be a mapping with keys ${childKeys(`${path}.`, leaves).join(', ')}, got ${describe(value)}`,
      ];
    return unknownKeysUnder(`${path}.`, value, leaves, nameOf);
  });
}

function childKeys(prefix: string, leaves: ReadonlySet<string>): string[] {
  const children = [...leaves]
    .filter((path) => path.startsWith(prefix))
    .map((path) => path.slice(prefix.length).split('.')[0] ?? '');
  return [...new Set(prefix === '' ? [...children, 'rules'] : children)];
}

function unknownRuleKeys(value: unknown, ruleIds: readonly string[], nameOf: (path: string) => string): string[] {
  if (value === undefined) return [];
  if (!isRecord(value)) return [`${nameOf('rules')} must be a mapping of rule id to settings, got ${describe(value)}`];
  return Object.entries(value).flatMap(([id, settings]) => {
    if (!ruleIds.includes(id)) return [`unknown rule ${nameOf(`rules.${id}`)}; known rules: ${ruleIds.join(', ')}`];
    if (!isRecord(settings)) return [];
    const accepted = new Set([...RULE_KEYS, ...ruleOptionKeys(id)]);
    return Object.keys(settings)
      .filter((key) => !accepted.has(key))
      .map((key) => `unknown key ${nameOf(`rules.${id}.${key}`)}; known keys: ${[...accepted].join(', ')}`);
  });
}

function valueAt(root: ConfigLayer, path: string): unknown {
  let current: unknown = root;
  for (const key of splitPath(path)) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** `rules.sidecar-resources.defaults` splits on dots; rule ids contain dashes, never dots. */
function splitPath(path: string): string[] {
  return path.split('.');
}

/** Sets a dotted path in a layer, creating intermediate mappings. */
export function setAt(root: ConfigLayer, path: string, value: unknown): void {
  const keys = splitPath(path);
  let current = root;
  for (const key of keys.slice(0, -1)) {
    const next = current[key];
    if (isRecord(next)) {
      current = next;
    } else {
      const created: ConfigLayer = {};
      current[key] = created;
      current = created;
    }
  }
  current[keys[keys.length - 1] ?? path] = value;
}
