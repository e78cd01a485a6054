import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildConfig, ConfigError } from '../../src/config/config.ts';
import { helpText } from '../../src/config/help.ts';
import { loadConfig } from '../../src/config/load.ts';
import { OPTIONS } from '../../src/config/options.ts';
import { configuredRules } from '../../src/config/policy.ts';
import { RULE_IDS } from '../../src/rules/index.ts';

function configFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'dapr-guard-config-')), 'config.yaml');
  writeFileSync(path, content);
  return path;
}

function run(argv: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const command = loadConfig(argv, env, RULE_IDS);
  assert.equal(command.kind, 'run');
  assert.ok(command.kind === 'run');
  return command.config;
}

function problems(argv: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    loadConfig(argv, env, RULE_IDS);
  } catch (error: unknown) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the configuration to be refused');
}

describe('configuration', () => {
  test('defaults: enforce, https on 127.0.0.1:8443, metrics on 9090, 5 MiB body limit, production sidecar table', () => {
    const config = run([]);
    assert.equal(config.mode, 'enforce');
    assert.deepEqual([config.server.host, config.server.port, config.metrics.port], ['127.0.0.1', 8443, 9090]);
    assert.equal(config.server.bodyLimitBytes, 5 * 1024 * 1024);
    assert.deepEqual(config.sidecarDefaults, {
      cpuRequest: '100m',
      cpuLimit: '4',
      memoryRequest: '250Mi',
      memoryLimit: '4000Mi',
    });
    assert.deepEqual(
      [config.tls.certFile, config.tls.keyFile, config.tls.caFile],
      ['certs/tls.crt', 'certs/tls.key', 'certs/ca.crt'],
    );
    assert.ok(Object.values(config.rules).every((rule) => rule.enabled && rule.mode === undefined));
  });

  test('file < environment < flags', () => {
    const file = configFile('mode: audit\nserver:\n  port: 9000\nmetrics:\n  port: 9100\nlog:\n  level: debug\n');
    const config = run(['--config', file, '--port', '9443'], {
      DAPR_GUARD_PORT: '9001',
      DAPR_GUARD_METRICS_PORT: '9200',
      DAPR_GUARD_MODE: 'warn',
    });
    assert.deepEqual(
      [config.mode, config.server.port, config.metrics.port, config.log.level],
      ['warn', 9443, 9200, 'debug'],
    );
  });

  test('DAPR_GUARD_CONFIG names the file when --config is absent', () => {
    const file = configFile('mode: audit\n');
    assert.equal(run([], { DAPR_GUARD_CONFIG: file }).mode, 'audit');
  });

  test('rule modes, enabled flags and sidecar defaults from YAML, env and flags', () => {
    const file = configFile(
      'rules:\n  api-token:\n    mode: enforce\n  sidecar-resources:\n    enabled: true\n    defaults:\n      cpuLimit: "2"\n      memoryLimit: 2Gi\n',
    );
    const config = run(['--config', file, '--rule-mode', 'sidecar-resources=audit'], {
      DAPR_GUARD_RULE_MODES: 'api-token=warn',
    });
    assert.equal(config.rules['api-token']?.mode, 'warn');
    assert.equal(config.rules['sidecar-resources']?.mode, 'audit');
    assert.deepEqual(config.sidecarDefaults, {
      cpuRequest: '100m',
      cpuLimit: '2',
      memoryRequest: '250Mi',
      memoryLimit: '2Gi',
    });
  });

  test('a rule id or mode from --rule-mode or DAPR_GUARD_RULE_MODES is named as written there', () => {
    assert.equal(
      problems(['--rule-mode', 'api-tokn=warn', '--rule-mode', 'api-token=strict'], {
        DAPR_GUARD_RULE_MODES: 'mtls=audit',
      }),
      [
        'invalid configuration:',
        '  - unknown rule DAPR_GUARD_RULE_MODES (rules.mtls); known rules: ' + RULE_IDS.join(', '),
        '  - unknown rule --rule-mode api-tokn=…; known rules: ' + RULE_IDS.join(', '),
        '  - --rule-mode api-token=… must be one of enforce, warn, audit, got "strict"',
      ].join('\n'),
    );
  });

  test('every problem is reported at once, naming the key and the accepted values', () => {
    const file = configFile('mode: block\nserver:\n  prot: 1\n  port: 0\nrules:\n  api-tokn:\n    mode: warn\n');
    assert.equal(
      problems(['--config', file], { DAPR_GUARD_LOG_LEVEL: 'loud', DAPR_GUARD_EXEMPTIONS_ENABLED: 'yes' }),
      [
        'invalid configuration:',
        `  - unknown rule rules.api-tokn in ${file}; known rules: ` + RULE_IDS.join(', '),
        `  - unknown key server.prot in ${file}; known keys under server: host, port, bodyLimitBytes, maxInflightBodyBytes, requestTimeoutSeconds, headersTimeoutSeconds, maxConcurrentStreams, maxConnections, shutdownDelaySeconds, shutdownGracePeriodSeconds`,
        `  - mode in ${file} must be one of enforce, warn, audit, got "block"`,
        `  - server.port in ${file} must be an integer from 1 to 65535, got 0`,
        '  - DAPR_GUARD_LOG_LEVEL (log.level) must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
        '  - DAPR_GUARD_EXEMPTIONS_ENABLED (exemptions.enabled) must be true or false, got "yes"',
      ].join('\n'),
    );
  });

  test('a problem names the source that set the value: the flag, the variable, or the key in the file', () => {
    const file = configFile('server:\n  port: -5\n');
    assert.equal(
      problems(['--port', '0', '--config', file], { DAPR_GUARD_PORT: '-1' }),
      'invalid configuration:\n  - --port must be an integer from 1 to 65535, got "0"',
    );
    assert.equal(
      problems(['--config', file], { DAPR_GUARD_PORT: '-1' }),
      'invalid configuration:\n  - DAPR_GUARD_PORT (server.port) must be an integer from 1 to 65535, got "-1"',
    );
    assert.equal(
      problems(['--config', file]),
      `invalid configuration:\n  - server.port in ${file} must be an integer from 1 to 65535, got -5`,
    );
  });

  test('an unknown DAPR_GUARD_* variable is refused, with the closest known name', () => {
    assert.equal(
      problems([], { DAPR_GUARD_PROT: '1', DAPR_GUARD_SOMETHING_ELSE: 'x', DAPR_GUARD_CACHE: '/tmp/cache' }),
      [
        'invalid configuration:',
        '  - unknown environment variable DAPR_GUARD_PROT; did you mean DAPR_GUARD_PORT? (see --help for the variables)',
        '  - unknown environment variable DAPR_GUARD_SOMETHING_ELSE (see --help for the variables)',
      ].join('\n'),
    );
    assert.equal(
      problems([], { [`DAPR_GUARD_${'X'.repeat(10_000)}`]: '1' }),
      `invalid configuration:\n  - unknown environment variable DAPR_GUARD_${'X'.repeat(10_000)} (see --help for the variables)`,
    );
  });

  test('bad flags, a missing file and broken YAML are refused with a clear message', () => {
    assert.match(problems(['--mode']), /Option '--mode <value>' argument missing \(see --help\)/);
    assert.match(problems(['--no-such-flag']), /Unknown option '--no-such-flag'/);
    assert.equal(
      problems(['--config', '/nonexistent/config.yaml']),
      'cannot read the configuration file /nonexistent/config.yaml: ENOENT',
    );
    assert.match(problems(['--config', configFile('mode: [')]), /^the configuration file .* is not valid YAML: /);
    assert.match(problems(['--config', configFile('- a\n- b\n')]), /must hold a mapping$/);
    assert.equal(problems(['--rule-mode', 'api-token']), '--rule-mode takes <rule-id>=<mode> pairs, got "api-token"');
    assert.match(
      problems(['--rule-mode', 'api-token=strict']),
      /--rule-mode api-token=… must be one of enforce, warn, audit, got "strict"/,
    );
    assert.match(
      problems([], { DAPR_GUARD_TLS_DNS_NAMES: 'a,b', DAPR_GUARD_BODY_LIMIT_BYTES: '10' }),
      /DAPR_GUARD_BODY_LIMIT_BYTES \(server\.bodyLimitBytes\) must be an integer from 1024 to 67108864, got "10"/,
    );
  });

  test('a section given as a scalar is refused', () => {
    assert.throws(
      () => buildConfig([{ tls: { selfManaged: 'yes' } }], RULE_IDS),
      /tls\.selfManaged must be a mapping with keys enabled, /,
    );
  });

  test('--help and --version are commands, not configurations', () => {
    assert.deepEqual(loadConfig(['--help'], {}, RULE_IDS), { kind: 'help' });
    assert.deepEqual(loadConfig(['-h', '--mode', 'nonsense'], {}, RULE_IDS), { kind: 'help' });
    assert.deepEqual(loadConfig(['--version'], {}, RULE_IDS), { kind: 'version' });
  });

  test('--help documents every option, its environment variable and every rule', () => {
    const help = helpText(configuredRules(buildConfig([], RULE_IDS)));
    for (const spec of OPTIONS) {
      assert.ok(help.includes(`YAML ${spec.path}`), `--help lacks ${spec.path}`);
      if (spec.flag !== undefined) assert.ok(help.includes(`--${spec.flag} `), `--help lacks --${spec.flag}`);
      if (spec.env !== undefined) assert.ok(help.includes(spec.env), `--help lacks ${spec.env}`);
    }
    for (const id of RULE_IDS) assert.ok(help.includes(`  ${id} (`), `--help lacks rule ${id}`);
    for (const meta of [
      '--config',
      'DAPR_GUARD_CONFIG',
      '--rule-mode',
      'DAPR_GUARD_RULE_MODES',
      'dapr-guard.io/mode',
      'dapr-guard.io/exempt-reason',
    ]) {
      assert.ok(help.includes(meta), `--help lacks ${meta}`);
    }
  });
});

describe('server limits', () => {
  test('defaults: 30 s deadline, 10 s for headers, 10 MiB of bodies at once, 128 streams, 1024 connections', () => {
    const { server } = buildConfig([], RULE_IDS);
    assert.deepEqual(
      [
        server.requestTimeoutSeconds,
        server.headersTimeoutSeconds,
        server.maxInflightBodyBytes,
        server.maxConcurrentStreams,
        server.maxConnections,
      ],
      [30, 10, 10 * 1024 * 1024, 128, 1024],
    );
  });

  test('from the environment, and limits that contradict each other stop startup', () => {
    const env = {
      DAPR_GUARD_REQUEST_TIMEOUT_SECONDS: '5',
      DAPR_GUARD_HEADERS_TIMEOUT_SECONDS: '6',
      DAPR_GUARD_MAX_INFLIGHT_BODY_BYTES: '2048',
    };
    assert.throws(
      () => loadConfig([], env, RULE_IDS),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message ===
          'invalid configuration:\n  - server.maxInflightBodyBytes (2048) must be at least server.bodyLimitBytes (5242880): a review of the largest size could never be read\n  - server.headersTimeoutSeconds (6) must not be above server.requestTimeoutSeconds (5)',
    );
  });
});

describe('sidecar defaults', () => {
  test('a negative default or a request above its limit is refused at startup', () => {
    assert.throws(
      () =>
        buildConfig(
          [{ rules: { 'sidecar-resources': { defaults: { cpuRequest: '2', cpuLimit: '1', memoryLimit: '-1Gi' } } } }],
          RULE_IDS,
        ),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message ===
          'invalid configuration:\n  - rules.sidecar-resources.defaults.memoryLimit must be a non-negative Kubernetes quantity such as 4000Mi, got "-1Gi"\n  - rules.sidecar-resources.defaults.cpuRequest (2) must not be above cpuLimit (1)',
    );
  });

  test('numbers are taken as quantities and fractions with binary suffixes are understood', () => {
    const config = buildConfig(
      [{ rules: { 'sidecar-resources': { defaults: { cpuLimit: 2, memoryRequest: '0.5Gi', memoryLimit: '1.5Gi' } } } }],
      RULE_IDS,
    );
    assert.deepEqual(config.sidecarDefaults, {
      cpuRequest: '100m',
      cpuLimit: '2',
      memoryRequest: '0.5Gi',
      memoryLimit: '1.5Gi',
    });
  });
});

describe('guidelines profiles', () => {
  const CURRENT = { cpuRequest: '100m', cpuLimit: '300m', memoryRequest: '250Mi', memoryLimit: '1000Mi' };
  const ORIGINAL = { cpuRequest: '100m', cpuLimit: '4', memoryRequest: '250Mi', memoryLimit: '4000Mi' };

  /** What the configured rules do to a Dapr-enabled Pod: the annotations the mutating rule adds. */
  function added(config: ReturnType<typeof run>): readonly string[] {
    const rule = configuredRules(config).find((candidate) => candidate.id === 'sidecar-resources');
    assert.ok(rule?.type === 'mutating');
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'orders', annotations: { 'dapr.io/enabled': 'true' } },
    };
    const request = {
      uid: 'u',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE' as const,
      userInfo: {},
      object: pod,
    };
    return rule.mutate(structuredClone(pod), { request, object: pod, oldObject: undefined, namespace: 'shop' });
  }

  const FOUR_CURRENT = [
    'dapr.io/sidecar-cpu-request=100m',
    'dapr.io/sidecar-cpu-limit=300m',
    'dapr.io/sidecar-memory-request=250Mi',
    'dapr.io/sidecar-memory-limit=1000Mi',
    'GOMEMLIMIT=900MiB in dapr.io/env',
  ];

  test('dapr-0.11 by default: the original table, no GOMEMLIMIT', () => {
    const config = run([]);
    assert.equal(config.guidelines, 'dapr-0.11');
    assert.deepEqual(config.sidecarDefaults, ORIGINAL);
    assert.deepEqual(added(config), [
      'dapr.io/sidecar-cpu-request=100m',
      'dapr.io/sidecar-cpu-limit=4',
      'dapr.io/sidecar-memory-request=250Mi',
      'dapr.io/sidecar-memory-limit=4000Mi',
    ]);
  });

  const sources: ReadonlyArray<[string, readonly string[], NodeJS.ProcessEnv]> = [
    ['the configuration file', ['--config', configFile('guidelines: dapr-1.13\n')], {}],
    ['DAPR_GUARD_GUIDELINES', [], { DAPR_GUARD_GUIDELINES: 'dapr-1.13' }],
    ['--guidelines', ['--guidelines', 'dapr-1.13'], {}],
    [
      '--guidelines over the environment and the file',
      ['--config', configFile('guidelines: dapr-0.11\n'), '--guidelines', 'dapr-1.13'],
      { DAPR_GUARD_GUIDELINES: 'dapr-0.11' },
    ],
  ];
  assert.equal(sources.length, 4);
  for (const [name, argv, env] of sources) {
    test(`dapr-1.13 from ${name}: the current table and GOMEMLIMIT at 90 % of the memory limit`, () => {
      const config = run(argv, env);
      assert.equal(config.guidelines, 'dapr-1.13');
      assert.deepEqual(config.sidecarDefaults, CURRENT);
      assert.deepEqual(added(config), FOUR_CURRENT);
    });
  }

  test('individual options still override the profile', () => {
    const file = configFile(
      'guidelines: dapr-1.13\nrules:\n  sidecar-resources:\n    defaults:\n      memoryLimit: 2Gi\n    goMemLimit: false\n',
    );
    const config = run(['--config', file]);
    assert.deepEqual(config.sidecarDefaults, { ...CURRENT, memoryLimit: '2Gi' });
    assert.deepEqual(added(config), [
      'dapr.io/sidecar-cpu-request=100m',
      'dapr.io/sidecar-cpu-limit=300m',
      'dapr.io/sidecar-memory-request=250Mi',
      'dapr.io/sidecar-memory-limit=2Gi',
    ]);
    const withLimit = run(['--config', configFile('rules:\n  sidecar-resources:\n    goMemLimit: true\n')]);
    assert.deepEqual(added(withLimit).at(-1), 'GOMEMLIMIT=3600MiB in dapr.io/env');
  });

  test('an unknown profile, a request above the profile limit and a non-boolean goMemLimit are refused', () => {
    assert.equal(
      problems(['--guidelines', 'dapr-1.18']),
      'invalid configuration:\n  - --guidelines must be one of dapr-0.11, dapr-1.13, got "dapr-1.18"',
    );
    assert.equal(
      problems([
        '--guidelines',
        'dapr-1.13',
        '--config',
        configFile('rules:\n  sidecar-resources:\n    defaults:\n      cpuRequest: 500m\n    goMemLimit: maybe\n'),
      ]),
      'invalid configuration:\n  - rules.sidecar-resources.defaults.cpuRequest (500m) must not be above cpuLimit (300m)\n  - rules.sidecar-resources.goMemLimit must be true or false, got "maybe"',
    );
  });

  test('--help names the option, its environment variable and both profiles', () => {
    const help = helpText(configuredRules(buildConfig([], RULE_IDS)));
    assert.ok(help.includes('  --guidelines <dapr-0.11|dapr-1.13>\n'));
    assert.ok(help.includes('(YAML guidelines, env DAPR_GUARD_GUIDELINES)'));
    assert.ok(help.includes('rules.sidecar-resources.goMemLimit'));
  });
});
