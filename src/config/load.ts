import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { buildConfig, ConfigError, setAt, type Config, type ConfigLayer } from './config.ts';
import { OPTIONS } from './options.ts';

export const CONFIG_ENV = 'DAPR_GUARD_CONFIG';
export const RULE_MODES_ENV = 'DAPR_GUARD_RULE_MODES';

export type CliCommand =
  { readonly kind: 'help' } | { readonly kind: 'version' } | { readonly kind: 'run'; readonly config: Config };

/**
 * Reads the configuration: defaults < YAML file (--config / DAPR_GUARD_CONFIG) < environment < flags.
 * Throws ConfigError with every problem found, each naming its key and the accepted values.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, ruleIds: readonly string[]): CliCommand {
  const flags = parseFlags(argv);
  if (flags.values['help'] === true) return { kind: 'help' };
  if (flags.values['version'] === true) return { kind: 'version' };
  const configPath = stringFlag(flags.values['config']) ?? env[CONFIG_ENV];
  const unknown = unknownVariableProblems(env);
  if (unknown.length > 0) throw new ConfigError(`invalid configuration:\n  - ${unknown.join('\n  - ')}`);
  const file = configPath === undefined || configPath === '' ? {} : readConfigFile(configPath);
  const layers = [file, environmentLayer(env), flagLayer(flags.values)];
  return { kind: 'run', config: buildConfig(layers, ruleIds, sourceNames(configPath, env, flags.values)) };
}

/**
 * How the user wrote the setting that won: `--port`, `DAPR_GUARD_PORT (server.port)`, or
 * `server.port in <file>`; a problem is reported under that name.
 */
function sourceNames(
  configPath: string | undefined,
  env: NodeJS.ProcessEnv,
  flags: FlagValues,
): (path: string) => string {
  const byPath = new Map(OPTIONS.map((spec) => [spec.path, spec]));
  const inFile = (path: string): string =>
    configPath === undefined || configPath === '' ? path : `${path} in ${configPath}`;
  const ruleModeSource = ruleModeSources(env, flags);
  return (path) => {
    const spec = byPath.get(path);
    if (spec === undefined) return ruleModeSource(path) ?? inFile(path);
    if (spec.flag !== undefined && typeof flags[spec.flag] === 'string') return `--${spec.flag}`;
    if (spec.env !== undefined && nonEmptyString(env[spec.env])) return `${spec.env} (${path})`;
    return inFile(path);
  };
}

/** `rules.<id>` and `rules.<id>.mode` set by --rule-mode (which wins) or DAPR_GUARD_RULE_MODES, named so. */
function ruleModeSources(env: NodeJS.ProcessEnv, flags: FlagValues): (path: string) => string | undefined {
  const idOf = (pair: string): string => pair.split('=')[0]?.trim() ?? '';
  const flagged = Array.isArray(flags['rule-mode']) ? flags['rule-mode'].map(String) : [];
  const fromEnv = (env[RULE_MODES_ENV] ?? '').split(',');
  return (path) => {
    const match = /^rules\.([^.]+)(?:\.mode)?$/.exec(path);
    if (match === null) return undefined;
    const id = match[1] ?? '';
    if (flagged.some((pair) => idOf(pair) === id)) return `--rule-mode ${id}=…`;
    if (fromEnv.some((pair) => idOf(pair) === id)) return `${RULE_MODES_ENV} (${path})`;
    return undefined;
  };
}

function nonEmptyString(value: string | undefined): boolean {
  return value !== undefined && value !== '';
}

/** Variables that start with DAPR_GUARD_ but are not for the server: the e2e harness's (a server it starts inherits them). */
const NOT_CONFIGURATION = new Set(['DAPR_GUARD_CACHE', 'DAPR_GUARD_E2E_CLUSTER_INFO']);
const ENV_PREFIX = 'DAPR_GUARD_';

/** A mistyped DAPR_GUARD_* variable is an error, as an unknown YAML key is, with the closest known name. */
function unknownVariableProblems(env: NodeJS.ProcessEnv): string[] {
  const known = [CONFIG_ENV, RULE_MODES_ENV, ...OPTIONS.flatMap((spec) => (spec.env === undefined ? [] : [spec.env]))];
  const knownSet = new Set(known);
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !knownSet.has(name) && !NOT_CONFIGURATION.has(name))
    .sort()
    .map((name) => {
      const close = closestName(name, known);
      return `unknown environment variable ${name}${close === undefined ? '' : `; did you mean ${close}?`} (see --help for the variables)`;
    });
}

const MAX_NAME_LENGTH = 64;

/** The known name within edit distance 2 (a third of its length at most), if any; long names are not compared. */
function closestName(name: string, known: readonly string[]): string | undefined {
  if (name.length > MAX_NAME_LENGTH) return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= Math.min(2, Math.floor(candidate.length / 3)) && (best === undefined || distance < best.distance))
      best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance, O(a·b) on names of at most MAX_NAME_LENGTH characters. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parseFlags(argv: readonly string[]): { values: FlagValues } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    config: { type: 'string', short: 'c' },
    'rule-mode': { type: 'string', multiple: true },
  };
  for (const spec of OPTIONS) {
    if (spec.flag !== undefined) options[spec.flag] = { type: 'string' };
  }
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (error: unknown) {
    throw new ConfigError(`${error instanceof Error ? error.message : String(error)} (see --help)`);
  }
}

function readConfigFile(path: string): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error: unknown) {
    throw new ConfigError(
      `cannot read the configuration file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error: unknown) {
    throw new ConfigError(
      `the configuration file ${path} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(`the configuration file ${path} must hold a mapping`);
  return parsed as ConfigLayer;
}

function environmentLayer(env: NodeJS.ProcessEnv): ConfigLayer {
  const layer: ConfigLayer = {};
  for (const spec of OPTIONS) {
    const value = spec.env === undefined ? undefined : env[spec.env];
    if (value !== undefined && value !== '') setAt(layer, spec.path, value);
  }
  const ruleModes = env[RULE_MODES_ENV];
  if (ruleModes !== undefined && ruleModes !== '') applyRuleModes(layer, ruleModes.split(','), RULE_MODES_ENV);
  return layer;
}

function flagLayer(values: FlagValues): ConfigLayer {
  const layer: ConfigLayer = {};
  for (const spec of OPTIONS) {
    const value = spec.flag === undefined ? undefined : values[spec.flag];
    if (typeof value === 'string') setAt(layer, spec.path, value);
  }
  const ruleModes = values['rule-mode'];
  if (Array.isArray(ruleModes)) applyRuleModes(layer, ruleModes.map(String), '--rule-mode');
  return layer;
}

/** `<rule-id>=<mode>` pairs, from DAPR_GUARD_RULE_MODES (comma-separated) or repeated --rule-mode. */
function applyRuleModes(layer: ConfigLayer, pairs: readonly string[], source: string): void {
  for (const pair of pairs) {
    const [ruleId, mode, extra] = pair.split('=').map((part) => part.trim());
    if (ruleId === undefined || ruleId === '' || mode === undefined || extra !== undefined) {
      throw new ConfigError(`${source} takes <rule-id>=<mode> pairs, got ${JSON.stringify(pair)}`);
    }
    setAt(layer, `rules.${ruleId}.mode`, mode);
  }
}

function stringFlag(value: FlagValues[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
