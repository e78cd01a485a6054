import { readFileSync, readdirSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/admission/wire.ts';

export const FIXTURES = new URL('../fixtures/', import.meta.url);

/** A fixture file's text. */
export function fixtureText(relativePath: string): string {
  return readFileSync(new URL(relativePath, FIXTURES), 'utf8');
}

/** A JSON fixture, freshly parsed on every call so that no test can change another's copy. */
export function jsonFixture<T = unknown>(relativePath: string): T {
  return JSON.parse(fixtureText(relativePath)) as T;
}

/** Every object of a (multi-document) YAML fixture, freshly parsed. Empty documents are skipped. */
export function yamlObjects(relativePath: string): KubeObject[] {
  return parseAllDocuments(fixtureText(relativePath))
    .map((document) => document.toJS() as unknown)
    .filter((value): value is KubeObject => typeof value === 'object' && value !== null && !Array.isArray(value));
}

export function fixtureFiles(relativeDirectory: string, extension: string): string[] {
  return readdirSync(new URL(relativeDirectory, FIXTURES))
    .filter((name) => name.endsWith(extension))
    .sort()
    .map((name) => `${relativeDirectory.replace(/\/?$/, '/')}${name}`);
}
