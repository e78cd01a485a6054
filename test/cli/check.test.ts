import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { OUTPUT_FORMATS, type OutputFormat } from '../../src/report/format.ts';
import { sarifValidator } from '../report/formats.test.ts';
import { check, REPOSITORY } from './support.ts';

const FIXTURES = 'test/fixtures/check';
const GOOD = `${FIXTURES}/manifests`;
const BROKEN = `${FIXTURES}/broken-redis-pubsub.yaml`;
const RENDERED = 'test/fixtures/dapr-manifests/rendered';
/** The plaintext redisPassword of the recorded redis-pubsub Component. */
const SECRET = 'KeFg23!';
const EXTENSION: Readonly<Record<OutputFormat, string>> = { text: 'txt', json: 'json', sarif: 'sarif', junit: 'xml' };
const VERSION = (JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8')) as { version: string }).version;

function golden(name: string): string {
  return readFileSync(new URL(`golden/${name}`, import.meta.url), 'utf8').replaceAll('{{version}}', VERSION);
}

interface JsonFinding {
  readonly file: string;
  readonly line: number;
  readonly object: { readonly kind: string; readonly name?: string; readonly namespace?: string };
  readonly type: string;
  readonly ruleId: string;
  readonly mode: string;
  readonly message: string;
}

interface JsonReport {
  readonly summary: { readonly objects: number; readonly sources: number; readonly skipped: object };
  readonly findings: readonly JsonFinding[];
  readonly problems: readonly object[];
}

async function jsonReport(argv: readonly string[], stdin?: string): Promise<{ code: number; report: JsonReport }> {
  const { code, stdout } = await check(['-o', 'json', ...argv], stdin === undefined ? {} : { stdin });
  return { code, report: JSON.parse(stdout) as JsonReport };
}

describe('dapr-guard check: every format on recorded manifests and a file with a YAML syntax error', () => {
  assert.equal(OUTPUT_FORMATS.length, 4);
  for (const format of OUTPUT_FORMATS) {
    test(`--output ${format}: golden output, exit code 2 (the broken file), the secret never shown`, async () => {
      const { code, stdout, stderr } = await check(['--output', format, GOOD, BROKEN]);
      assert.equal(stdout, golden(`check.${EXTENSION[format]}`));
      assert.equal(stderr, '');
      assert.equal(code, 2);
      assert.ok(!stdout.includes(SECRET));
    });
  }

  test('the SARIF log is valid SARIF 2.1.0', async () => {
    const { stdout } = await check(['-o', 'sarif', GOOD, BROKEN]);
    assert.deepEqual(sarifValidator()(JSON.parse(stdout)), []);
  });

  test('without the broken file the same manifests exit 1 (an enforce violation)', async () => {
    const { code, stdout } = await check([GOOD]);
    assert.equal(code, 1);
    assert.match(stdout, /^dapr-guard check failed: 4 objects in 4 files; violations: 1 enforce, 2 warn, 0 audit;/m);
  });
});

describe('dapr-guard check: the rendered Dapr installs (test/fixtures/dapr-manifests/rendered)', () => {
  test('default-ns.yaml fails with one control-plane-namespace finding per control-plane object', async () => {
    const { code, report } = await jsonReport([`${RENDERED}/default-ns.yaml`]);
    assert.equal(code, 1);
    assert.equal(report.summary.objects, 40);
    const tsv = readFileSync(join(REPOSITORY, RENDERED, 'objects.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1);
    // The control plane: what the chart puts into the release namespace, and the cluster-scoped objects pointing at it.
    const controlPlane = tsv
      .map((line) => line.split('\t'))
      .filter(
        ([file, , , kind, , namespace]) =>
          file === 'dapr-system.yaml' &&
          (namespace === 'dapr-system' || kind === 'ClusterRoleBinding' || kind === 'MutatingWebhookConfiguration'),
      )
      .map(([, , , kind, name]) => `${kind}/${name}`)
      .sort();
    assert.equal(controlPlane.length, 33);
    const found = report.findings
      .filter((finding) => finding.ruleId === 'control-plane-namespace')
      .map((finding) => {
        assert.equal(finding.mode, 'enforce');
        return `${finding.object.kind}/${finding.object.name ?? ''}`;
      })
      .sort();
    assert.deepEqual(found, controlPlane);
  });

  for (const file of ['dapr-system.yaml', 'dapr-system-ha.yaml', 'dapr-system-custom-labels.yaml']) {
    test(`${file} passes (exit 0, no enforce violation)`, async () => {
      const { code, report } = await jsonReport([`${RENDERED}/${file}`]);
      assert.equal(code, 0);
      assert.ok(report.summary.objects >= 40);
      assert.deepEqual(
        report.findings.filter((finding) => finding.type === 'violation' && finding.mode === 'enforce'),
        [],
      );
    });
  }

  test("--fail-on warn fails dapr-system.yaml on the control plane's resource warnings", async () => {
    const { code, stdout } = await check(['--fail-on', 'warn', `${RENDERED}/dapr-system.yaml`]);
    assert.equal(code, 1);
    assert.match(stdout, /\[control-plane-resources\] \(warn\)/);
  });

  test('--mode audit and a configuration file apply as on the server', async () => {
    const audit = await jsonReport(['--mode', 'audit', `${RENDERED}/default-ns.yaml`]);
    assert.equal(audit.code, 0);
    assert.equal(audit.report.findings.filter((finding) => finding.mode === 'audit').length, 41);
    const directory = mkdtempSync(join(tmpdir(), 'check-config-'));
    after(() => rmSync(directory, { recursive: true, force: true }));
    const config = join(directory, 'dapr-guard.yaml');
    writeFileSync(config, 'rules:\n  control-plane-namespace:\n    mode: warn\n');
    const warned = await jsonReport(['--config', config, `${RENDERED}/default-ns.yaml`]);
    assert.equal(warned.code, 0);
    const modes = new Set(
      warned.report.findings.filter((f) => f.ruleId === 'control-plane-namespace').map((f) => f.mode),
    );
    assert.deepEqual([...modes], ['warn']);
  });
});

describe('dapr-guard check: standard input and namespaces', () => {
  const renderedWithoutNamespaces = readFileSync(join(REPOSITORY, RENDERED, 'dapr-system.yaml'), 'utf8').replaceAll(
    /^ {2}namespace: dapr-system\n/gm,
    '',
  );

  test('- reads the stream (as from helm template); an object without a namespace is reviewed in --namespace', async () => {
    assert.ok(!/^ {2}namespace: dapr-system$/m.test(renderedWithoutNamespaces));
    const inDefault = await jsonReport(['-'], renderedWithoutNamespaces);
    assert.equal(inDefault.code, 1);
    assert.ok(inDefault.report.findings.every((finding) => finding.file === '-'));
    assert.ok(inDefault.report.findings.some((finding) => finding.ruleId === 'control-plane-namespace'));
    const inDaprSystem = await jsonReport(['-n', 'dapr-system', '-'], renderedWithoutNamespaces);
    assert.equal(inDaprSystem.code, 0);
    assert.equal(inDaprSystem.report.summary.objects, 40);
  });

  test('kustomize-style List and empty documents: items are objects, the rest is counted as skipped', async () => {
    const { report } = await jsonReport([`${GOOD}/nested`]);
    assert.deepEqual(report.summary.skipped, { notObjects: 2, unreviewedKinds: 0 });
    const list = report.findings.filter((finding) => finding.file.endsWith('list.json'));
    assert.equal(list.length, 1);
    assert.equal(list[0]?.line, 8);
    assert.equal(list[0]?.object.kind, 'Configuration');
  });
});

describe('dapr-guard check: exemptions, as the webhook treats them', () => {
  // The recorded Deployment, exempted from api-token by its owner.
  const exempted = readFileSync(join(REPOSITORY, GOOD, 'node.yaml'), 'utf8')
    .split('---\n')[1]
    ?.replace(
      '  name: nodeapp\n',
      '  name: nodeapp\n  annotations:\n    dapr-guard.io/exempt: api-token\n    dapr-guard.io/exempt-reason: the app calls no Dapr API\n',
    );

  test('set by a user outside exemptions.allowedGroups (the default): a notice, and the rule applies', async () => {
    assert.ok(exempted?.includes('dapr-guard.io/exempt: api-token'));
    const { report } = await jsonReport(['-'], exempted);
    assert.deepEqual(
      report.findings.map((finding) => [finding.type, finding.ruleId, finding.mode]),
      [
        ['mutation', 'sidecar-resources', 'enforce'],
        ['violation', 'api-token', 'warn'],
        ['notice', 'exemptions', 'warn'],
      ],
    );
    assert.match(
      report.findings[2]?.message ?? '',
      /^dapr-guard.io\/exempt is ignored: it was added or changed by a user outside exemptions.allowedGroups/,
    );
  });

  test('--as-group system:masters (in exemptions.allowedGroups): the exemption counts', async () => {
    const { report } = await jsonReport(['--as-group', 'system:masters', '-'], exempted);
    assert.deepEqual(
      report.findings.map((finding) => [finding.type, finding.ruleId]),
      [['mutation', 'sidecar-resources']],
    );
  });
});

describe('dapr-guard check: exit code 2 for usage errors and unreadable input, never a stack trace', () => {
  const table: [string, readonly string[], RegExp][] = [
    [
      'no path',
      [],
      /^dapr-guard check: name at least one file, directory, or - for standard input \(see dapr-guard check --help\)\n$/,
    ],
    [
      'an unknown output',
      ['-o', 'xml', GOOD],
      /^dapr-guard check: --output must be one of text, json, sarif, junit, got "xml"/,
    ],
    ['an unknown flag', ['--frobnicate', GOOD], /^dapr-guard check: Unknown option '--frobnicate'/],
    [
      'a bad --fail-on',
      ['--fail-on', 'audit', GOOD],
      /^dapr-guard check: --fail-on must be one of enforce, warn, got "audit"/,
    ],
    ['a bad namespace', ['-n', 'Not_A_Namespace', GOOD], /^dapr-guard check: --namespace must be a namespace name/],
    [
      'a bad mode',
      ['--mode', 'strict', GOOD],
      /^dapr-guard check: invalid configuration:\n {2}- --mode must be one of enforce, warn, audit, got "strict"/,
    ],
    [
      'a missing configuration file',
      ['-c', '/nonexistent/dapr-guard.yaml', GOOD],
      /^dapr-guard check: cannot read the configuration file \/nonexistent\/dapr-guard.yaml: ENOENT/,
    ],
  ];
  for (const [name, argv, message] of table) {
    test(name, async () => {
      const { code, stdout, stderr } = await check(argv);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /\n {4}at /);
    });
  }

  test('a missing file is reported with the others, and the others are still checked', async () => {
    const { code, stdout } = await check(['test/fixtures/check/nope.yaml', `${GOOD}/node.yaml`]);
    assert.equal(code, 2);
    assert.match(
      stdout,
      /^test\/fixtures\/check\/nope.yaml: error: cannot read test\/fixtures\/check\/nope.yaml: ENOENT$/m,
    );
    assert.match(
      stdout,
      /^test\/fixtures\/check\/manifests\/node.yaml:17: \[sidecar-resources\] \(enforce\) would add/m,
    );
  });
});

describe('dapr-guard check: colour', () => {
  test('on a terminal, unless NO_COLOR is set', async () => {
    const escape = '\u001b[';
    assert.ok((await check([GOOD], { tty: true })).stdout.includes(escape));
    assert.ok(!(await check([GOOD], { tty: true, env: { NO_COLOR: '1' } })).stdout.includes(escape));
    assert.ok(!(await check([GOOD], { tty: false })).stdout.includes(escape));
  });
});

describe('dapr-guard check --help', () => {
  test('lists the flags of check', async () => {
    const { code, stdout } = await check(['--help']);
    assert.equal(code, 0);
    for (const flag of [
      '--output text|json|sarif|junit',
      '--fix',
      '--fail-on enforce|warn',
      '--namespace',
      '--as-group <group>',
      '--mode',
      '--config',
      '--rule-mode',
    ])
      assert.ok(stdout.includes(flag), flag);
  });
});

describe('dapr-guard check --fix', () => {
  const directory = mkdtempSync(join(tmpdir(), 'check-fix-'));
  after(() => rmSync(directory, { recursive: true, force: true }));
  /** Recorded manifests with a comment after an annotation, a comment line after the block, and CRLF line ends. */
  const FILES = [
    'dapr_samples__dapr-aks-workload-identity-federation__deploy__app.yaml',
    'dapr_docs__daprdocs__content__en__operations__configuration__grpc.md__block02.yaml',
    'dapr_quickstarts__tutorials__bindings__deploy__python.yaml',
    'dapr_quickstarts__tutorials__hello-kubernetes__deploy__node.yaml',
  ];
  const ADDED = [
    'dapr.io/sidecar-cpu-request: "100m"',
    'dapr.io/sidecar-cpu-limit: "4"',
    'dapr.io/sidecar-memory-request: "250Mi"',
    'dapr.io/sidecar-memory-limit: "4000Mi"',
  ];

  /** The original with the four annotations inserted after its last dapr.io/ annotation, indented and ended as the file is. */
  function expected(original: string): string {
    const eol = original.includes('\r\n') ? '\r\n' : '\n';
    const lines = original.split(eol);
    const last = lines.findLastIndex((line) => /^ +dapr\.io\/[a-z-]+: /.test(line));
    assert.ok(last > 0);
    const indent = /^ */.exec(lines[last] ?? '')?.[0] ?? '';
    lines.splice(last + 1, 0, ...ADDED.map((line) => `${indent}${line}`));
    return lines.join(eol);
  }

  test('writes the defaults into the files, every other byte unchanged; a second run changes nothing', async () => {
    for (const file of FILES) cpSync(join(REPOSITORY, 'test/fixtures/dapr-corpus', file), join(directory, file));
    const originals = FILES.map((file) => readFileSync(join(directory, file), 'utf8'));
    const first = await check(['--fix', directory]);
    assert.match(first.stdout, /; 4 would-be changes$/m);
    assert.equal(originals.length, 4);
    for (const [index, file] of FILES.entries()) {
      assert.equal(readFileSync(join(directory, file), 'utf8'), expected(originals[index] ?? ''), file);
    }
    const fixed = FILES.map((file) => readFileSync(join(directory, file), 'utf8'));
    const second = await check(['--fix', directory]);
    assert.match(second.stdout, /; 0 would-be changes$/m);
    assert.deepEqual(
      FILES.map((file) => readFileSync(join(directory, file), 'utf8')),
      fixed,
    );
  });

  test('with - the fixed stream goes to standard output and the report to standard error', async () => {
    const original = readFileSync(join(REPOSITORY, GOOD, 'node.yaml'), 'utf8');
    const { code, stdout, stderr } = await check(['--fix', '-'], { stdin: original });
    assert.equal(code, 0);
    assert.equal(stdout, expected(original));
    assert.match(stderr, /^-:17: \[sidecar-resources\] \(enforce\) would add dapr.io\/sidecar-cpu-request=100m/m);
  });

  test('standard input that does not parse goes through unchanged (and exits 2)', async () => {
    const broken = readFileSync(join(REPOSITORY, BROKEN), 'utf8');
    const { code, stdout, stderr } = await check(['--fix', '-'], { stdin: broken });
    assert.equal(code, 2);
    assert.equal(stdout, broken);
    assert.match(stderr, /^-:12: error: YAML syntax error: Missing closing "quote$/m);
    assert.ok(!stderr.includes(SECRET));
  });
});
