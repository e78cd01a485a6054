import {
  ADMISSION_API_VERSIONS,
  OPERATIONS,
  type AdmissionApiVersion,
  type AdmissionRequest,
  type Operation,
} from './wire.ts';
import { DEFAULT_API_VERSION, sniffEcho, type ReviewEcho } from './sniff-echo.ts';
import { asRecord, type JsonRecord } from '../util/json.ts';

/** The body of an HTTP request to /mutate or /validate, before anything is known about it. */
export interface RawReview {
  readonly contentType: string | undefined;
  readonly body: Uint8Array | undefined;
}

export interface ParsedReview {
  readonly ok: true;
  readonly apiVersion: AdmissionApiVersion;
  readonly request: AdmissionRequest;
}

/** Why a body is not a usable AdmissionReview; `uid` and `apiVersion` are echoed when they could be read. */
export interface RejectedReview {
  readonly ok: false;
  readonly code: number;
  readonly message: string;
  readonly uid: string;
  readonly apiVersion: AdmissionApiVersion;
}

export type ParseResult = ParsedReview | RejectedReview;

/** Header values are echoed into replies and logs; a client chooses them, so they are clipped. */
const MAX_ECHOED_HEADER_LENGTH = 64;

/**
 * Turns an HTTP body into an AdmissionRequest, or says precisely what is wrong with it.
 * Messages never quote the body: it may hold secret values.
 */
export function parseAdmissionReview(raw: RawReview): ParseResult {
  const json = decodeJson(raw.body);
  const echo = json.ok ? readEcho(json.value) : sniffEcho(raw.body);
  if (!isJsonMediaType(raw.contentType)) {
    return reject(400, `contentType=${clipHeader(raw.contentType)}, expected application/json`, echo);
  }
  if (!json.ok) return reject(400, json.message, echo);
  return validateReview(json.value, echo);
}

function reject(code: number, message: string, echo: ReviewEcho): RejectedReview {
  return { ok: false, code, message, uid: echo.uid, apiVersion: echo.apiVersion };
}

/** A header value fit for a message: at most 64 characters, anything but printable ASCII as `?`. */
export function clipHeader(value: string | undefined): string {
  if (value === undefined) return '(none)';
  const clipped = value.slice(0, MAX_ECHOED_HEADER_LENGTH).replace(/[^\x20-\x7e]/g, '?');
  return value.length > MAX_ECHOED_HEADER_LENGTH ? `${clipped}…` : clipped;
}

type Decoded = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

function decodeJson(body: Uint8Array | undefined): Decoded {
  if (body === undefined || body.byteLength === 0) return { ok: false, message: 'request body is empty' };
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.trim() === '') return { ok: false, message: 'request body is empty' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    // JSON.parse quotes the input around the error position; never repeat it.
    return { ok: false, message: 'request body is not valid JSON' };
  }
}

function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}

function readEcho(value: unknown): ReviewEcho {
  const review = asRecord(value);
  const request = asRecord(review?.['request']);
  const uid = request?.['uid'];
  const apiVersion = review?.['apiVersion'];
  return {
    uid: typeof uid === 'string' ? uid : '',
    apiVersion: isAdmissionApiVersion(apiVersion) ? apiVersion : DEFAULT_API_VERSION,
  };
}

function validateReview(value: unknown, echo: ReviewEcho): ParseResult {
  const review = asRecord(value);
  if (review === undefined) return reject(400, 'request body is not a JSON object', echo);
  const problem = reviewEnvelopeProblem(review) ?? requestProblem(asRecord(review['request']));
  if (problem !== undefined) return reject(400, problem, echo);
  return { ok: true, apiVersion: echo.apiVersion, request: review['request'] as AdmissionRequest };
}

function reviewEnvelopeProblem(review: JsonRecord): string | undefined {
  if (review['kind'] !== 'AdmissionReview' || !isAdmissionApiVersion(review['apiVersion'])) {
    return `expected an AdmissionReview of apiVersion ${ADMISSION_API_VERSIONS.join(' or ')}, got kind=${describe(review['kind'])} apiVersion=${describe(review['apiVersion'])}`;
  }
  return undefined;
}

function requestProblem(request: JsonRecord | undefined): string | undefined {
  if (request === undefined) return 'AdmissionReview has no request';
  if (typeof request['uid'] !== 'string' || request['uid'] === '') return 'request.uid is missing';
  const operation = request['operation'];
  if (!isOperation(operation)) {
    return `request.operation must be one of ${OPERATIONS.join(', ')}, got ${describe(operation)}`;
  }
  if (!isGroupVersionKind(request['kind'])) return 'request.kind must have group, version and kind';
  return identityProblem(request) ?? objectProblem(request, operation) ?? userInfoProblem(request['userInfo']);
}

/** The API server leaves these out when empty and never sends another type; rules and logs read them as strings. */
const STRING_FIELDS = ['name', 'namespace', 'subResource'] as const;

function identityProblem(request: JsonRecord): string | undefined {
  const field = STRING_FIELDS.find((name) => request[name] !== undefined && typeof request[name] !== 'string');
  return field === undefined ? undefined : `request.${field} must be a string, got ${describe(request[field])}`;
}

function userInfoProblem(value: unknown): string | undefined {
  if (value === undefined || value === null) return 'request.userInfo is missing';
  const userInfo = asRecord(value);
  if (userInfo === undefined) return `request.userInfo must be an object, got ${describe(value)}`;
  const username = userInfo['username'];
  if (username !== undefined && typeof username !== 'string')
    return `request.userInfo.username must be a string, got ${describe(username)}`;
  const groups = userInfo['groups'];
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((group) => typeof group === 'string'))) {
    return `request.userInfo.groups must be a list of strings, got ${describe(groups)}`;
  }
  return undefined;
}

function objectProblem(request: JsonRecord, operation: Operation): string | undefined {
  const needsObject = operation === 'CREATE' || operation === 'UPDATE';
  if (needsObject && asRecord(request['object']) === undefined) {
    return `request.object is missing for a ${operation} request`;
  }
  if (operation === 'UPDATE' && asRecord(request['oldObject']) === undefined) {
    return 'request.oldObject is missing for an UPDATE request';
  }
  return undefined;
}

function isGroupVersionKind(value: unknown): boolean {
  const gvk = asRecord(value);
  return (
    gvk !== undefined &&
    typeof gvk['group'] === 'string' &&
    typeof gvk['version'] === 'string' &&
    typeof gvk['kind'] === 'string' &&
    gvk['kind'] !== ''
  );
}

function isOperation(value: unknown): value is Operation {
  return typeof value === 'string' && (OPERATIONS as readonly string[]).includes(value);
}

function isAdmissionApiVersion(value: unknown): value is AdmissionApiVersion {
  return typeof value === 'string' && (ADMISSION_API_VERSIONS as readonly string[]).includes(value);
}

/** A short, value-free description of a field for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return '(missing)';
  if (value === null) return '(null)';
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 64));
  return `(${Array.isArray(value) ? 'array' : typeof value})`;
}
