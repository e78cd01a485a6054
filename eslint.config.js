// Lint for dapr-guard: typescript-eslint (type-aware), Pepr's size budget, ReDoS checks, and the
// layer arrows of src/ (CONTRIBUTING.md / issue 9). To change the architecture, edit the tables in
// the first section only; everything below is generated from them.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import regexp from 'eslint-plugin-regexp';
import tseslint from 'typescript-eslint';

// ─── 1. The architecture ──────────────────────────────────────────────────────────────────────────

/** Layers: a folder (or file) under src/. A file under src/ outside every layer is an error. */
const LAYERS = {
  admission: 'src/admission', // wire types, parsing, responses, JSON Patch
  rules: 'src/rules', // one rule per file
  policy: 'src/policy', // modes, exemptions, evaluate, decide
  webhook: 'src/webhook', // drives one review: parse → evaluate → decide → reply
  server: 'src/server', // Fastify transport
  tls: 'src/tls', // certificates, rotation, files, acquisition, serving TLS, reloader
  kube: 'src/kube', // @kubernetes/client-node adapters
  config: 'src/config', // builds the settings
  audit: 'src/audit', // the cluster audit's decisions: owners, audit-only checks, reports (pure)
  cli: 'src/cli', // subcommands: check, audit
  report: 'src/report', // findings of check and audit, and their output formats (pure)
  util: 'src/util', // small pure helpers (json, text, retry); imports nothing of ours
  main: 'src/main.ts', // composition root
};

/**
 * Shared vocabulary: single files that layers below their folder may import (listed in ALLOWED by
 * path). Each may import only what is listed here, so it stays a leaf of the graph.
 */
// Mode and MODES live with the wire vocabulary, below rules/ and policy/; kube/ (the namespace-label cache)
// may read them without depending on the rest of admission/.
const MODE = 'src/admission/mode.ts';
const VOCABULARY = { [MODE]: [] };

/**
 * The allowed arrows: ALLOWED[a] lists what a may import besides itself. An entry is a layer or one
 * file of a layer. Arrows point inward only; the config refuses to load if they form a cycle.
 */
const ALLOWED = {
  admission: ['util'],
  rules: ['admission', 'util'],
  policy: ['rules', 'admission', 'util'],
  webhook: ['policy', 'rules', 'admission', 'util'],
  server: ['webhook', 'policy', 'admission', 'config', 'tls', 'kube', 'util'],
  tls: ['util'],
  kube: ['tls', 'util', MODE],
  config: ['rules', 'policy', 'admission', 'tls', 'util'],
  audit: ['webhook', 'policy', 'rules', 'report', 'admission', 'util'],
  cli: ['audit', 'webhook', 'policy', 'rules', 'admission', 'config', 'report', 'kube', 'tls', 'util'],
  report: ['admission', 'util'],
  util: [],
  main: Object.keys(LAYERS).filter((layer) => layer !== 'main'),
};
/** Old folder names allowed exactly what their new layer is, while a move is in progress. None today. */
const ALIASES = {};

/** Packages that only their owners may import (statically or with import()). */
const OWNED_PACKAGES = {
  '@kubernetes/client-node': ['kube'],
  fastify: ['server'],
};

/** Pure layers: no I/O module, no dynamic import. */
const PURE = ['admission', 'policy', 'rules', 'webhook', 'audit', 'report', 'util'];
const IO_MODULES = [
  'node:fs',
  'node:net',
  'node:http',
  'node:https',
  'node:http2',
  'node:tls',
  'node:dgram',
  'node:dns',
  'node:child_process',
  'node:worker_threads',
  'pino',
  'prom-client',
  'node-forge',
  'fastify',
  '@kubernetes/client-node',
];

// ─── 2. Generated from the tables ────────────────────────────────────────────────────────────────

const layerOf = (entry) =>
  Object.keys(LAYERS).find((layer) => entry === layer || entry.startsWith(`${LAYERS[layer]}/`));
const allowedOf = (layer) => {
  const own = ALLOWED[layer] ?? [...ALLOWED[ALIASES[layer]], ALIASES[layer]];
  // Whoever may import a layer may import its alias.
  const aliases = Object.entries(ALIASES).filter(([from, to]) => from !== layer && own.includes(to));
  return [...own, ...aliases.map(([from]) => from)];
};

// The arrows must form a DAG, or "no cycle between folders" would not follow from them.
(function assertAcyclic() {
  const state = {};
  const visit = (layer, path) => {
    if (state[layer] === 'done') return;
    if (state[layer] === 'active') throw new Error(`eslint.config.js: layer cycle ${[...path, layer].join(' → ')}`);
    state[layer] = 'active';
    for (const entry of allowedOf(layer)) if (!(entry in VOCABULARY)) visit(layerOf(entry), [...path, layer]);
    state[layer] = 'done';
  };
  for (const layer of Object.keys(LAYERS)) visit(layer, []);
})();

const isFileLayer = (layer) => LAYERS[layer].endsWith('.ts');
const filesOf = (layer) => (isFileLayer(layer) ? [LAYERS[layer]] : [`${LAYERS[layer]}/**/*.ts`]);

/** import-x/no-restricted-paths zones: for each layer, every layer it may not import (minus allowed files). */
const zones = Object.keys(LAYERS).flatMap((target) => {
  const allowed = allowedOf(target);
  return Object.keys(LAYERS)
    .filter((from) => from !== target && !allowed.includes(from))
    .map((from) => {
      const files = allowed.filter((entry) => entry !== from && layerOf(entry) === from);
      return {
        target: LAYERS[target],
        from: LAYERS[from],
        ...(files.length > 0 && { except: files.map((file) => `./${file.slice(LAYERS[from].length + 1)}`) }),
        message: `${target}/ may import only: ${allowed.join(', ') || 'nothing of ours'} (eslint.config.js ALLOWED).`,
      };
    });
});

for (const [file, allowed] of Object.entries(VOCABULARY)) {
  for (const from of Object.keys(LAYERS).filter((layer) => !allowed.includes(layer) && layerOf(file) !== layer)) {
    zones.push({
      target: file,
      from: LAYERS[from],
      message: `${file} is shared vocabulary: it may import only ${allowed.join(', ') || 'nothing of ours'}.`,
    });
  }
  for (const sibling of Object.keys(LAYERS).filter((layer) => layerOf(file) === layer)) {
    zones.push({
      target: file,
      from: LAYERS[sibling],
      except: [`./${file.slice(LAYERS[sibling].length + 1)}`],
      message: `${file} is shared vocabulary: it may not import its own folder.`,
    });
  }
}

const importBan = (name, message) => ({
  group: [name, `${name}/*`, ...(name.startsWith('node:') ? [name.slice(5), `${name.slice(5)}/*`] : [])],
  message,
});
const dynamicBan = (name, message) => ({
  selector: `ImportExpression[source.value=/^${name.replace(/[/.]/g, '\\$&')}(\\/|$)/]`,
  message,
});

/** One config object per layer: a flat config would replace, not merge, two option lists of one rule. */
const layerConfigs = Object.keys(LAYERS).map((layer) => {
  const bans = new Map();
  for (const [pkg, owners] of Object.entries(OWNED_PACKAGES)) {
    if (!owners.includes(layer) && !owners.includes(ALIASES[layer]))
      bans.set(pkg, `only ${owners.join(', ')}/ may import ${pkg}.`);
  }
  if (PURE.includes(layer)) {
    for (const name of IO_MODULES) bans.set(name, bans.get(name) ?? `${layer}/ is pure: no I/O module (${name}).`);
  }
  const patterns = [...bans].map(([name, message]) => importBan(name, message));
  const syntax = PURE.includes(layer)
    ? [{ selector: 'ImportExpression', message: `${layer}/ is pure: no dynamic import().` }]
    : [...bans].map(([name, message]) => dynamicBan(name, message));
  return {
    name: `dapr-guard/layer/${layer}`,
    files: filesOf(layer),
    rules: {
      'no-restricted-imports': patterns.length > 0 ? ['error', { patterns }] : 'off',
      'no-restricted-syntax': syntax.length > 0 ? ['error', ...syntax] : 'off',
    },
  };
});

// ─── 3. The config ───────────────────────────────────────────────────────────────────────────────

export default defineConfig(
  {
    name: 'dapr-guard/ignores',
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.tmp/**',
      'test/fixtures/**',
      'charts/**',
      'src/rules/data/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  regexp.configs['flat/recommended'],
  {
    name: 'dapr-guard/base',
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        // tsconfig.test.json plus scripts/ (which typecheck does not cover).
        project: './tsconfig.eslint.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      // Without these, import-x parses no .ts dependency and no-cycle finds nothing.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: 'tsconfig.eslint.json', alwaysTryTypes: true }),
      ],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Pepr's budget (config/eslint.root.config.mjs).
      complexity: ['error', 10],
      'max-params': ['error', 4],
      'max-depth': ['error', 3],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/explicit-function-return-type': [
        'error',
        {
          allowExpressions: true,
          allowTypedFunctionExpressions: true,
          allowHigherOrderFunctions: true,
          allowIIFEs: true,
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The security review found a ReDoS: these two are errors everywhere, tests included.
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': 'error',
      // Imports: every one must resolve (or the boundary rules below would silently pass it).
      'import-x/no-unresolved': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-duplicates': 'error',
    },
  },
  {
    name: 'dapr-guard/layers',
    files: ['src/**/*.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones }] },
  },
  ...layerConfigs,
  {
    name: 'dapr-guard/unknown-layer',
    files: ['src/**/*.ts'],
    ignores: Object.keys(LAYERS).flatMap(filesOf).concat('src/rules/data/**'),
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Program',
          message: 'This folder is not a layer: add it to LAYERS and ALLOWED in eslint.config.js.',
        },
      ],
    },
  },
  {
    name: 'dapr-guard/tests',
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      complexity: 'off',
      'max-params': 'off',
      'max-depth': ['error', 4],
      '@typescript-eslint/explicit-function-return-type': 'off',
      // Fakes implement async ports without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // node:test's test()/describe() return promises the runner awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
    },
  },
  {
    name: 'dapr-guard/js',
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
