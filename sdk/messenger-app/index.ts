/**
 * The messenger local app (`telehealth messenger`, DESIGN.md §6): the chat page served on
 * 127.0.0.1 only, on a random free port, driving the SDK's Messenger on this machine — keys and
 * messages stay in the encrypted local store; the gateway only ever sees ciphertext.
 */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { LocalStore } from '../local-store.ts';
import type { Messenger } from '../messenger.ts';
import { MessengerCore, type AccountSlot } from './core.ts';
import { EventStreams } from './event-stream.ts';
import { LaunchGuard } from './guard.ts';
import { createHttpApp } from './http-app.ts';
import type { PageFiles } from './page-files.ts';

export { MessengerCore, type AccountSlot } from './core.ts';
export { loadPageFiles, PAGE_NOT_BUILT, type PageFiles } from './page-files.ts';
export type * from './api.ts';

/** Default largest attachment (before encryption): below the gateway's default ATTACHMENT_MAX_BYTES. */
export const DEFAULT_MAX_ATTACHMENT_BYTES = 10_000_000;

export interface MessengerAppOptions {
  readonly store: LocalStore;
  readonly account: AccountSlot;
  readonly gatewayUrl: string | undefined;
  readonly connect: (opts: { baseUrl: string; token: string }) => Messenger;
  /** The built page (loadPageFiles(web-client/dist)). */
  readonly files: PageFiles;
  readonly deviceLabel?: string;
  readonly maxAttachmentBytes?: number;
}

export interface MessengerApp {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  readonly core: MessengerCore;
  /** A fresh one-time link that opens the page in a browser. */
  launchUrl(): string;
  /** Stops the page streams, the server and messaging; the store stays open. Idempotent. */
  close(): Promise<void>;
}

export async function startMessengerApp(opts: MessengerAppOptions): Promise<MessengerApp> {
  const files = opts.files;
  const maxAttachmentBytes = opts.maxAttachmentBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES;
  const core = new MessengerCore({
    store: opts.store,
    account: opts.account,
    gatewayUrl: opts.gatewayUrl,
    connect: opts.connect,
    deviceLabel: opts.deviceLabel ?? 'messenger',
    maxAttachmentBytes,
  });
  const guard = new LaunchGuard();
  const streams = new EventStreams();
  const app = createHttpApp({ core, guard, files, streams, maxAttachmentBytes });
  const server = createAdaptorServer({ fetch: app.fetch, hostname: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Port 0: the OS picks a free one; nothing but loopback can reach it.
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  guard.bind((server.address() as AddressInfo).port);
  try {
    await core.start();
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    origin: guard.origin,
    core,
    launchUrl: () => guard.launchUrl(),
    close() {
      closing ??= (async () => {
        streams.closeAll();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
        await core.close();
      })();
      return closing;
    },
  };
}
