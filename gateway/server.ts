/**
 * Serves a gateway app on Node: plain HTTP, or HTTPS (TLS >= 1.2, modern AEAD ciphers) when a
 * certificate and key are configured. Timeouts bound slow clients. `close()` drains: the process
 * reports not-ready, stops accepting connections, lets in-flight requests finish for up to
 * SHUTDOWN_GRACE_MS (answering them with `Connection: close`), then cuts what is left. Signal
 * handling belongs to the composition root, which calls close().
 */
import { readFileSync } from 'node:fs';
import type { Server as HttpServer, ServerOptions as NodeHttpOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { createAdaptorServer } from '@hono/node-server';
import type { Config } from '../core/config/schema.ts';
import { StartupError, describeError } from '../core/errors.ts';
import type { Logger } from '../core/log/logger.ts';
import type { AppEnv } from './app-env.ts';
import { secureResponseFor } from './http/secure-response.ts';
import { LifecycleState, type Lifecycle } from './lifecycle.ts';

/** TLS 1.3 suites, then TLS 1.2 ECDHE + AEAD only (Mozilla "intermediate", minus anything without forward secrecy). */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** How often, while draining, connections that went idle after their last response are closed. */
const DRAIN_SWEEP_MS = 50;

export type GatewayServer = HttpServer | HttpsServer;

export interface HttpServerOptions {
  readonly config: Config;
  readonly log: Logger;
  /** Marked ready once listening and draining when close() starts. */
  readonly lifecycle?: Lifecycle;
}

export interface RunningServer {
  /** Base URL to reach the server (unspecified listen addresses are shown as loopback). */
  readonly url: string;
  /** The real port (useful with PORT=0). */
  readonly port: number;
  readonly server: GatewayServer;
  /** Idempotent graceful stop; resolves once every connection is closed. */
  close(): Promise<void>;
}

/** Refused connections are logged as one line per this window. */
const DROP_LOG_MS = 10_000;

type Timeouts = Pick<NodeHttpOptions, 'keepAliveTimeout' | 'headersTimeout' | 'requestTimeout' | 'connectionsCheckingInterval'>;

function timeouts(config: Config): Timeouts {
  // Behind a proxy, our keep-alive must outlive the proxy's idle timeout (often 60 s) or it
  // races our close and answers 502s; the proxy shields us from slow clients. Facing clients
  // directly, keep idle sockets and slow headers short.
  const keepAliveTimeout = config.trustProxy ? 65_000 : 5_000;
  return {
    keepAliveTimeout,
    headersTimeout: keepAliveTimeout + 15_000,
    requestTimeout: 120_000,
    connectionsCheckingInterval: 2_000,
  };
}

function tlsOptions(certFile: string, keyFile: string): HttpsServerOptions {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new StartupError(`cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`, 'Check TLS_CERT_FILE and TLS_KEY_FILE.');
    }
  };
  return {
    cert: read(certFile, 'certificate'),
    key: read(keyFile, 'key'),
    minVersion: 'TLSv1.2',
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  };
}

function createServerFor(app: OpenAPIHono<AppEnv>, config: Config, draining: () => boolean): GatewayServer {
  // Responses carry the security headers and, once draining, `Connection: close` (secure-response.ts).
  const base = { ...timeouts(config), ServerResponse: secureResponseFor(draining) };
  if (config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined) {
    const serverOptions = { ...tlsOptions(config.tlsCertFile, config.tlsKeyFile), ...base };
    try {
      return createAdaptorServer({ fetch: app.fetch, createServer: createHttpsServer, serverOptions }) as HttpsServer;
    } catch (err) {
      throw new StartupError(`cannot start HTTPS with the configured certificate and key: ${describeError(err)}`, 'Check that TLS_CERT_FILE and TLS_KEY_FILE hold a matching PEM certificate chain and private key.', { cause: err });
    }
  }
  return createAdaptorServer({ fetch: app.fetch, serverOptions: base }) as HttpServer;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startHttpServer(app: OpenAPIHono<AppEnv>, opts: HttpServerOptions): Promise<RunningServer> {
  const { config, log, lifecycle } = opts;
  let draining = false;
  const server = createServerFor(app, config, () => draining);
  // A bound on sockets (each an fd and buffers): a flood of idle or slow connections is refused
  // at accept instead of taking the process down with it.
  server.maxConnections = config.maxConnections;
  let dropped = 0;
  server.on('drop', () => {
    // One line per window, not one per refused socket: a flood must not flood the log too.
    if (dropped++ > 0) return;
    setTimeout(() => {
      log.warn({ dropped, maxConnections: config.maxConnections }, 'refused connections past MAX_CONNECTIONS');
      dropped = 0;
    }, DROP_LOG_MS).unref();
  });
  const tls = config.tlsCertFile !== undefined;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(new StartupError(`cannot listen on ${config.listenHost}:${config.port}: ${err.code ?? err.message}`, 'Choose another PORT or HOST, or stop the process using it.', { cause: err }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port: config.port, host: config.listenHost });
  });
  server.on('error', (err) => log.error({ err }, 'http server error'));

  const port = (server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://${urlHost(config.listenHost)}:${port}`;
  if (lifecycle !== undefined) lifecycle.state = LifecycleState.ready;
  log.info({ port, host: config.listenHost, tls, trustProxy: config.trustProxy }, 'listening');

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      if (lifecycle !== undefined) lifecycle.state = LifecycleState.draining;
      draining = true;
      const sweep = setInterval(() => server.closeIdleConnections(), DRAIN_SWEEP_MS);
      const deadline = setTimeout(() => {
        log.warn({ graceMs: config.shutdownGraceMs }, 'shutdown grace expired; closing remaining connections');
        server.closeAllConnections();
      }, config.shutdownGraceMs);
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(deadline);
        log.info('http server closed');
        resolve();
      });
      server.closeIdleConnections();
    });
    return closed;
  };

  return { url, port, server, close };
}
