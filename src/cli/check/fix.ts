import { isDeepStrictEqual } from 'node:util';
import {
  Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  Scalar,
  type Node,
  type YAMLMap,
} from 'yaml';
import { applyPatch, type PatchOperation } from '../../admission/json-patch.ts';
import type { ObjectPatch } from './check.ts';

export type FixResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly message: string };

/**
 * The file's text with the mutating webhook's patches written in. Each added key is spliced into the
 * text at the end of the mapping it belongs to, rendered by the yaml package in the quoting style of
 * its siblings, so every other byte (comments, key order, quoting, blank lines) stays as it was. The
 * result is parsed again and must hold exactly the patched objects, or nothing is written.
 */
export function fixedText(text: string, patches: readonly ObjectPatch[]): FixResult {
  let current = text;
  for (const { source, patch } of patches) {
    const base = source.location.item === undefined ? [] : ['items', String(source.location.item)];
    for (const operation of patch) {
      const applied = applyOperation(
        current,
        source.location.document,
        [...base, ...keysOf(operation.path)],
        operation,
      );
      if (!applied.ok) return applied;
      current = applied.text;
    }
  }
  return verified(current, patches);
}

/** `/spec/template/metadata/annotations/dapr.io~1sidecar-cpu-limit` → its keys (RFC 6901). */
function keysOf(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'));
}

interface Parsed {
  readonly document: Document.Parsed;
  readonly lineCounter: LineCounter;
}

function parseDocument(text: string, index: number): Parsed | undefined {
  const lineCounter = new LineCounter();
  const document = parseAllDocuments(text, { lineCounter })[index];
  return document === undefined ? undefined : { document, lineCounter };
}

function applyOperation(
  text: string,
  documentIndex: number,
  keys: readonly string[],
  operation: PatchOperation,
): FixResult {
  if (operation.op !== 'add' && operation.op !== 'replace') return cannot(operation, `a "${operation.op}" operation`);
  const parsed = parseDocument(text, documentIndex);
  if (parsed === undefined) return cannot(operation, 'the document is gone');
  const { node, depth } = deepest(parsed.document.contents, keys);
  const value: unknown = operation.value;
  if (depth === keys.length) {
    if (!isScalar(node) || !node.range || typeof value === 'object')
      return cannot(operation, 'the value to replace is not a scalar');
    return { ok: true, text: splice(text, node.range[0], node.range[1], renderScalar(value, node.type)) };
  }
  if (!isMap(node)) return cannot(operation, 'its parent is not a mapping');
  const nested = keys.slice(depth).reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
  return { ok: true, text: insertIntoMap(text, node, nested as Record<string, unknown>, parsed.lineCounter) };
}

function cannot(operation: PatchOperation, reason: string): FixResult {
  return { ok: false, message: `--fix cannot write ${operation.path} in place: ${reason}; the file is left as it was` };
}

/** The deepest node on the keys' path that exists, and how many keys lead to it. */
function deepest(root: unknown, keys: readonly string[]): { node: unknown; depth: number } {
  let node: unknown = root;
  for (const [depth, key] of keys.entries()) {
    const next = isMap(node) ? node.get(key, true) : isSeq(node) ? node.items[Number(key)] : undefined;
    if (next === undefined || next === null) return { node, depth };
    node = next;
  }
  return { node, depth: keys.length };
}

function insertIntoMap(text: string, map: YAMLMap, entries: Record<string, unknown>, lineCounter: LineCounter): string {
  const lastPair = map.items.at(-1);
  const keyRange = (map.items[0]?.key as Node | undefined)?.range;
  if (map.flow === true || lastPair === undefined || !keyRange)
    return insertIntoFlowMap(text, map, entries, lineCounter);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const indent = lineCounter.linePos(keyRange[0]).col - 1;
  const rendered = renderEntries(entries, siblingStringType(map), indent).join(eol);
  const end = endOf(lastPair.value ?? lastPair.key, keyRange[1]);
  // A block scalar or a nested block ends after its line break; a plain value ends before it (and its comment).
  if (text[end - 1] === '\n') return splice(text, end, end, `${rendered}${eol}`);
  const at = lineEndAfter(text, end);
  return splice(text, at, at, `${eol}${rendered}`);
}

/** Where the line that `offset` is on ends: before its `\n` or `\r\n`, or at the end of the text. */
function lineEndAfter(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  if (newline < 0) return text.length;
  return text[newline - 1] === '\r' ? newline - 1 : newline;
}

function endOf(node: unknown, fallback: number): number {
  return (node as Node | null)?.range?.[1] ?? fallback;
}

/** The entries as block YAML lines at `indent`. */
function renderEntries(entries: Record<string, unknown>, style: Scalar.Type, indent: number): string[] {
  return new Document(entries)
    .toString({ defaultStringType: style, defaultKeyType: 'PLAIN', lineWidth: 0 })
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => `${' '.repeat(indent)}${line}`);
}

/**
 * `{}`, `{a: b}` or a JSON object: the entries go after the last one, on a line of their own when the
 * entries are one per line (pretty-printed JSON), written as the existing keys are (JSON or YAML flow style).
 */
function insertIntoFlowMap(
  text: string,
  map: YAMLMap,
  entries: Record<string, unknown>,
  lineCounter: LineCounter,
): string {
  const close = text.lastIndexOf('}', (map.range?.[1] ?? text.length) - 1);
  const rendered = renderFlowEntries(map, entries);
  const lastPair = map.items.at(-1);
  if (lastPair === undefined) return splice(text, close, close, rendered);
  const end = endOf(lastPair.value ?? lastPair.key, close);
  const keyRange = (lastPair.key as Node | null)?.range;
  if (keyRange && text.slice(end, close).includes('\n')) {
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const indent = ' '.repeat(lineCounter.linePos(keyRange[0]).col - 1);
    return splice(text, end, end, `,${eol}${indent}${rendered}`);
  }
  return splice(text, end, end, `, ${rendered}`);
}

/** `"k": "v"` after double-quoted keys (JSON), else YAML flow entries quoted as the existing values are. */
function renderFlowEntries(map: YAMLMap, entries: Record<string, unknown>): string {
  const firstKey = map.items[0]?.key;
  if (isScalar(firstKey) && firstKey.type === Scalar.QUOTE_DOUBLE) {
    return Object.entries(entries)
      .map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`)
      .join(', ');
  }
  const document = new Document();
  document.contents = document.createNode(entries, { flow: true });
  const flow = document
    .toString({ defaultStringType: siblingStringType(map), defaultKeyType: 'PLAIN', lineWidth: 0 })
    .trim();
  // `{ a: b }` → `a: b`
  return flow.slice(1, -1).trim();
}

/** New string values are quoted as the mapping's existing ones are (double, single or plain). */
function siblingStringType(map: YAMLMap): Scalar.Type {
  const first = map.items.map((pair) => pair.value).find((value) => isScalar(value) && typeof value.value === 'string');
  const type = isScalar(first) ? first.type : undefined;
  return type === Scalar.QUOTE_DOUBLE || type === Scalar.QUOTE_SINGLE ? type : Scalar.PLAIN;
}

function renderScalar(value: unknown, type: Scalar.Type | undefined): string {
  const style = type === Scalar.QUOTE_DOUBLE || type === Scalar.QUOTE_SINGLE ? type : Scalar.PLAIN;
  return new Document(value).toString({ defaultStringType: style, lineWidth: 0 }).replace(/\n$/, '');
}

function splice(text: string, start: number, end: number, insert: string): string {
  return `${text.slice(0, start)}${insert}${text.slice(end)}`;
}

/** The fixed text must parse to the patched objects, and to nothing else changed. */
function verified(text: string, patches: readonly ObjectPatch[]): FixResult {
  const documents = parseAllDocuments(text);
  for (const { source, patch } of patches) {
    const document = documents[source.location.document];
    if (document === undefined || document.errors.length > 0)
      return { ok: false, message: '--fix produced text that does not parse; the file is left as it was' };
    const value = document.toJS({ maxAliasCount: 100 }) as unknown;
    const actual =
      source.location.item === undefined ? value : (value as { items: unknown[] }).items[source.location.item];
    if (!isDeepStrictEqual(actual, applyPatch(source.object, patch)))
      return { ok: false, message: '--fix could not write the added values in place; the file is left as it was' };
  }
  return { ok: true, text };
}
