/**
 * The bench child-server protocol in one place: listen on a free loopback port, print it on
 * stdout for the harness (child-server.ts), and close promptly on SIGTERM/SIGINT.
 */
import type { Server as HttpServer } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';

export function listenForBench(server: HttpServer | Http2Server): void {
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    if ('closeAllConnections' in server) server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
