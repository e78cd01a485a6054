import type { Readable } from 'node:stream';
import { SNIFF_BYTES } from '../admission/sniff-echo.ts';

/**
 * The bytes of request bodies held at once, across requests. A request reserves what it declares
 * (Content-Length) before reading, or chunk by chunk when it declares nothing, and gives it back
 * when its reply is done.
 */
export interface BodyBudget {
  readonly limit: number;
  readonly inUse: () => number;
  readonly ticket: () => BodyTicket;
}

export interface BodyTicket {
  /** False, and nothing reserved, when `bytes` more would go over the budget. */
  readonly reserve: (bytes: number) => boolean;
  /** Idempotent: gives back everything this ticket reserved. */
  readonly release: () => void;
}

export function createBodyBudget(limit: number): BodyBudget {
  let inUse = 0;
  const ticket = (): BodyTicket => {
    let held = 0;
    return {
      reserve: (bytes) => {
        if (inUse + bytes > limit) return false;
        inUse += bytes;
        held += bytes;
        return true;
      },
      release: () => {
        inUse -= held;
        held = 0;
      },
    };
  };
  return { limit, inUse: () => inUse, ticket };
}

export type BodyRefusal = 'BODY_TOO_LARGE' | 'BODY_BUDGET_EXCEEDED' | 'BODY_LENGTH_MISMATCH' | 'BODY_ABORTED';

/** Why a body was not read to the end; `statusCode` is the review's status code. */
export class BodyRefusedError extends Error {
  override readonly name = 'BodyRefusedError';
  readonly code: BodyRefusal;
  readonly statusCode: number;
  constructor(code: BodyRefusal, statusCode: number, message: string) {
    super(message);
    this.code = code;
    this.statusCode = statusCode;
  }
}

export interface BodyRead {
  readonly payload: Readable;
  readonly declaredLength: number | undefined;
  readonly limitBytes: number;
  readonly ticket: BodyTicket;
  /** Aborted when the request's deadline passes: stop reading, the reply is sent elsewhere. */
  readonly signal: AbortSignal;
  /** Called once with the first bytes (up to SNIFF_BYTES), as soon as they are known. */
  readonly onHead: (head: Buffer) => void;
}

/**
 * Reads a body into one Buffer within the size limit and the shared budget. A body that may not be
 * read is refused after its first bytes (where the uid is), never buffered.
 */
export function readBody(read: BodyRead, done: (error: BodyRefusedError | null, body?: Buffer) => void): void {
  const refusal = upfrontRefusal(read);
  const chunks: Buffer[] = [];
  let received = 0;
  let head: Buffer = Buffer.alloc(0);
  let finished = false;

  const finish = (error: BodyRefusedError | null, body?: Buffer): void => {
    if (finished) return;
    finished = true;
    detach();
    // A refused body is discarded from here on: it holds no part of the budget.
    if (error !== null) read.ticket.release();
    if (head.byteLength < SNIFF_BYTES) read.onHead(head);
    if (!read.signal.aborted) done(error, body);
  };
  const onData = (chunk: Buffer): void => {
    received += chunk.byteLength;
    if (head.byteLength < SNIFF_BYTES) head = extendHead(head, chunk, read.onHead);
    if (refusal !== undefined) {
      if (head.byteLength >= SNIFF_BYTES) finish(refusal);
      return;
    }
    const problem = chunkProblem(read, received, chunk.byteLength);
    if (problem !== undefined) return finish(problem);
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    if (refusal !== undefined) return finish(refusal);
    if (read.declaredLength !== undefined && received !== read.declaredLength) {
      return finish(lengthMismatch());
    }
    finish(null, Buffer.concat(chunks, received));
  };
  const onError = (): void => finish(new BodyRefusedError('BODY_ABORTED', 400, 'request body could not be read'));
  const onAbort = (): void => finish(null);
  const detach = (): void => {
    read.payload.removeListener('data', onData);
    read.payload.removeListener('end', onEnd);
    read.payload.removeListener('error', onError);
    read.signal.removeEventListener('abort', onAbort);
  };
  read.payload.on('data', onData);
  read.payload.on('end', onEnd);
  read.payload.on('error', onError);
  read.signal.addEventListener('abort', onAbort);
  read.payload.resume();
}

/** A declared length over the limit or the budget: read only the head, then refuse. */
function upfrontRefusal(read: BodyRead): BodyRefusedError | undefined {
  const declared = read.declaredLength;
  if (declared === undefined) return undefined;
  if (declared > read.limitBytes) return tooLarge(read.limitBytes);
  return read.ticket.reserve(declared) ? undefined : overBudget();
}

/** Without a declared length the limit and the budget are checked as the bytes arrive. */
function chunkProblem(read: BodyRead, received: number, chunkBytes: number): BodyRefusedError | undefined {
  if (received > read.limitBytes) return tooLarge(read.limitBytes);
  if (read.declaredLength !== undefined && received > read.declaredLength) return lengthMismatch();
  if (read.declaredLength === undefined && !read.ticket.reserve(chunkBytes)) return overBudget();
  return undefined;
}

function extendHead(head: Buffer, chunk: Buffer, onHead: (head: Buffer) => void): Buffer {
  const needed = SNIFF_BYTES - head.byteLength;
  const extended =
    head.byteLength === 0 && chunk.byteLength >= needed
      ? chunk.subarray(0, needed)
      : Buffer.concat([head, chunk.subarray(0, needed)]);
  if (extended.byteLength >= SNIFF_BYTES) onHead(extended);
  return extended;
}

function lengthMismatch(): BodyRefusedError {
  return new BodyRefusedError('BODY_LENGTH_MISMATCH', 400, 'request body size did not match Content-Length');
}

function tooLarge(limitBytes: number): BodyRefusedError {
  return new BodyRefusedError('BODY_TOO_LARGE', 413, `request body is larger than the limit of ${limitBytes} bytes`);
}

function overBudget(): BodyRefusedError {
  return new BodyRefusedError('BODY_BUDGET_EXCEEDED', 429, 'too many large reviews are being read at once; try again');
}
