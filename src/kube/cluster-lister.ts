import type { JsonRecord } from '../util/json.ts';
import type { ApiClient } from './api-client.ts';

/** One list request's page size: the API server's own default chunk for kubectl (500). */
export const DEFAULT_PAGE_SIZE = 500;
/** A continue token that does not end is a broken server; this many pages is 5 million objects. */
const MAX_PAGES = 10_000;

export interface ListOptions {
  readonly labelSelector?: string;
  readonly pageSize?: number;
}

export type ListOutcome =
  | { readonly ok: true; readonly items: number }
  | { readonly ok: false; readonly reason: 'not-served' | 'forbidden' | 'failed'; readonly message: string };

/**
 * Lists a collection page by page (`limit`/`continue`), handing each page to `onPage` before asking
 * for the next, so that at most one page is held. A 404 is a kind the cluster does not serve, a 403 a
 * missing permission; either ends the list without an error.
 */
export async function listPages(
  client: ApiClient,
  path: string,
  options: ListOptions,
  onPage: (items: readonly JsonRecord[]) => void,
): Promise<ListOutcome> {
  let token: string | undefined;
  let items = 0;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const response = await client.request('GET', `${path}?${queryOf(options, token)}`);
    if (!response.ok) return failureOf(response.status, response.message, items);
    const list = response.body as { items?: unknown; metadata?: { continue?: unknown } } | undefined;
    const pageItems = Array.isArray(list?.items) ? (list.items as JsonRecord[]) : [];
    items += pageItems.length;
    onPage(pageItems);
    token = typeof list?.metadata?.continue === 'string' ? list.metadata.continue : undefined;
    if (token === undefined || token === '') return { ok: true, items };
  }
  return { ok: false, reason: 'failed', message: `the list did not end after ${MAX_PAGES} pages` };
}

function queryOf(options: ListOptions, token: string | undefined): string {
  const query = new URLSearchParams({ limit: String(options.pageSize ?? DEFAULT_PAGE_SIZE) });
  if (options.labelSelector !== undefined && options.labelSelector !== '')
    query.set('labelSelector', options.labelSelector);
  if (token !== undefined) query.set('continue', token);
  return query.toString();
}

function failureOf(status: number, message: string, items: number): ListOutcome {
  if (status === 404) return { ok: false, reason: 'not-served', message };
  if (status === 403) return { ok: false, reason: 'forbidden', message };
  const after = items === 0 ? '' : ` after ${items} objects`;
  if (status === 410)
    return { ok: false, reason: 'failed', message: `the list expired${after} (HTTP 410): run the audit again` };
  return { ok: false, reason: 'failed', message: `${status === 0 ? message : `HTTP ${status}: ${message}`}${after}` };
}

/** The two certificates of `dapr-trust-bundle`; the rest of the Secret (the issuer key) is dropped unread. */
export type TrustBundleRead =
  | { readonly ok: true; readonly caCrt: string | undefined; readonly issuerCrt: string | undefined }
  | { readonly ok: false; readonly reason: 'not-found' | 'forbidden' | 'failed'; readonly message: string };

export async function readTrustBundle(client: ApiClient, namespace: string, name: string): Promise<TrustBundleRead> {
  const response = await client.request(
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
  );
  if (!response.ok) {
    const reason = response.status === 404 ? 'not-found' : response.status === 403 ? 'forbidden' : 'failed';
    return { ok: false, reason, message: response.message };
  }
  const data = (response.body as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const pick = (key: string): string | undefined => (typeof data[key] === 'string' ? data[key] : undefined);
  return { ok: true, caCrt: pick('ca.crt'), issuerCrt: pick('issuer.crt') };
}
