import type { ApiClient } from './api-client.ts';
import { listPages } from './cluster-lister.ts';

/** One report kind of one API, as the writer addresses it. */
export interface ReportTarget {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespaced: boolean;
}

export interface WritableReport {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string };
  readonly [field: string]: unknown;
}

/** What went wrong, each said once: a missing permission names the verb and the resource. */
export type WriteOutcome = { readonly written: number; readonly deleted: number; readonly problems: readonly string[] };

/**
 * Makes the cluster hold exactly `desired` among the reports labelled `selector`: each replaced (with
 * the stored resourceVersion: custom resources take no unconditional update) or created, and the
 * ones of namespaces no longer audited deleted. `namespace` limits it to one namespace.
 */
export async function writeReports(
  client: ApiClient,
  target: ReportTarget,
  desired: readonly WritableReport[],
  scope: { readonly selector: string; readonly namespace: string | undefined; readonly name: string },
): Promise<WriteOutcome> {
  const existing = await storedReports(client, target, scope);
  if (typeof existing === 'string') return { written: 0, deleted: 0, problems: [`reports not written: ${existing}`] };
  const problems = new Set<string>();
  let written = 0;
  for (const report of desired) {
    const namespace = report.metadata.namespace ?? '';
    const failure = await putReport(client, target, report, existing.get(namespace));
    if (failure === undefined) written += 1;
    else problems.add(failure);
    existing.delete(namespace);
  }
  let deleted = 0;
  for (const namespace of existing.keys()) {
    const path = objectPath(target, namespace === '' ? undefined : namespace, scope.name);
    const response = await client.request('DELETE', path);
    if (response.ok || response.status === 404) deleted += 1;
    else problems.add(describeFailure('delete', resourceOf(target), response.status, response.message));
  }
  return { written, deleted, problems: [...problems] };
}

/** The resourceVersion of each stored report of ours, by namespace ('' for a cluster report), or why not. */
async function storedReports(
  client: ApiClient,
  target: ReportTarget,
  scope: { readonly selector: string; readonly namespace: string | undefined; readonly name: string },
): Promise<Map<string, string> | string> {
  const existing = new Map<string, string>();
  const listed = await listPages(
    client,
    collectionPath(target, scope.namespace),
    { labelSelector: scope.selector },
    (items) => {
      for (const item of items) {
        const metadata = item['metadata'] as
          { name?: string; namespace?: string; resourceVersion?: string } | undefined;
        if (metadata?.name === scope.name) existing.set(metadata.namespace ?? '', metadata.resourceVersion ?? '');
      }
    },
  );
  if (listed.ok) return existing;
  const resource = resourceOf(target);
  if (listed.reason === 'forbidden') return `no permission to list ${resource} — grant list on ${resource}`;
  if (listed.reason === 'not-served')
    return `${resource} is not served: install the report CRDs (the chart's audit.installReportCRDs)`;
  return `listing ${resource} failed: ${listed.message}`;
}

/** Replaces the stored report (with its resourceVersion: custom resources take no unconditional update) or creates it. */
async function putReport(
  client: ApiClient,
  target: ReportTarget,
  report: WritableReport,
  resourceVersion: string | undefined,
): Promise<string | undefined> {
  const response =
    resourceVersion === undefined
      ? await client.request('POST', collectionPath(target, report.metadata.namespace), report)
      : await client.request('PUT', objectPath(target, report.metadata.namespace, report.metadata.name), {
          ...report,
          metadata: { ...report.metadata, resourceVersion },
        });
  if (response.ok) return undefined;
  return describeFailure(
    resourceVersion === undefined ? 'create' : 'update',
    resourceOf(target),
    response.status,
    response.message,
  );
}

function resourceOf(target: ReportTarget): string {
  return `${target.resource}.${target.group}`;
}

function describeFailure(verb: string, resource: string, status: number, message: string): string {
  if (status === 403) return `no permission to ${verb} ${resource} — grant ${verb} on ${resource}`;
  return `could not ${verb} ${resource}: ${message}`;
}

function collectionPath(target: ReportTarget, namespace: string | undefined): string {
  const scope = target.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `/apis/${target.group}/${target.version}${scope}/${target.resource}`;
}

function objectPath(target: ReportTarget, namespace: string | undefined, name: string): string {
  return `${collectionPath(target, namespace)}/${encodeURIComponent(name)}`;
}
