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
  const layers = [
    configPath === undefined || configPath === '' ? {} : readConfigFile(configPath),
    environmentLayer(env),
    flagLayer(flags.values),
  ];
  return { kind: 'run', config: buildConfig(layers, ruleIds) };
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
