/**
 * Refusing a WebSocket upgrade: an ordinary HTTP response written on the raw socket, then the
 * socket is closed. No upgrade happens, so an unauthenticated peer never holds a WebSocket.
 * Bodies use the gateway's error shape and say nothing about why a credential failed.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  429: 'rate_limited',
  503: 'service_unavailable',
};

export function refuseUpgrade(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const code = CODES[status] ?? 'error';
  const body = JSON.stringify({ error: { code, message: STATUS_CODES[status] ?? 'Error' } });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      'Cache-Control: no-store\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
