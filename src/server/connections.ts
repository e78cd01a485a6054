import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';

/** What the TLS listener emits: Http2SecureServer with allowHTTP1 serves both protocols. */
export interface ConnectionSource {
  on(event: 'secureConnection', listener: (socket: TLSSocket) => void): unknown;
  on(event: 'session', listener: (session: Http2Session) => void): unknown;
  on(event: 'request', listener: (request: IncomingMessage, response: ServerResponse) => void): unknown;
}

export interface Connections {
  /**
   * Ends every connection as soon as it has nothing in flight: HTTP/2 sessions get a GOAWAY (open
   * streams finish), idle HTTP/1.1 connections and handshakes that never sent a request are closed,
   * busy ones close after their response.
   */
  readonly drain: () => void;
  /** Destroys whatever is still open: the end of the grace period. */
  readonly destroyAll: () => void;
  readonly open: () => number;
}

/**
 * Keeps track of the listener's connections for shutdown. server.close() alone waits for clients:
 * the API server keeps idle connections to webhooks open, and Node's HTTP/2 server has no
 * closeIdleConnections, so without this a SIGTERM waits out the whole grace period, or forever.
 */
export function trackConnections(server: ConnectionSource): Connections {
  const sockets = new Set<TLSSocket>();
  const sessions = new Set<Http2Session>();
  const busy = new Map<TLSSocket, number>();
  let draining = false;

  const endIfIdle = (socket: TLSSocket): void => {
    if (draining && socket.alpnProtocol !== 'h2' && (busy.get(socket) ?? 0) === 0) socket.destroy();
  };
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      busy.delete(socket);
    });
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    if (draining) session.close();
  });
  server.on('request', (request, response) => {
    if (request.httpVersionMajor !== 1) return;
    const socket = request.socket as TLSSocket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.once('close', () => {
      busy.set(socket, (busy.get(socket) ?? 1) - 1);
      endIfIdle(socket);
    });
  });
  return {
    drain: () => {
      draining = true;
      for (const session of sessions) session.close();
      for (const socket of sockets) endIfIdle(socket);
    },
    destroyAll: () => {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
    open: () => sockets.size,
  };
}
