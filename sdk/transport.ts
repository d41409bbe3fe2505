/**
 * What the messenger needs from the gateway, as an interface: the real implementation is
 * createGatewayTransport (http-client.ts + ws-client.ts, exactly core/protocol/messaging.ts);
 * tests and other runtimes may pass their own.
 */
import type { z } from 'zod';
import type {
  DeviceList,
  InboundEnvelope,
  KeyBundleResponse,
  PreKeyCount,
  RegisterDeviceRequest,
  SendMessagesRequest,
  SendResult,
  UploadKeysRequest,
} from '../core/protocol/messaging.ts';

export interface DeviceMismatchDetails {
  readonly missingDevices: readonly number[];
  readonly extraDevices: readonly number[];
  readonly staleDevices: readonly number[];
}

export interface MessagingHttp {
  registerDevice(body: z.input<typeof RegisterDeviceRequest>): Promise<{ deviceId: number }>;
  uploadKeys(deviceId: number, body: z.input<typeof UploadKeysRequest>): Promise<void>;
  preKeyCount(deviceId: number): Promise<z.infer<typeof PreKeyCount>>;
  listDevices(): Promise<z.infer<typeof DeviceList>>;
  /** All devices (`deviceId` omitted) or one; each bundle consumes one-time prekeys on the server. */
  fetchBundles(userId: string, deviceId?: number): Promise<z.infer<typeof KeyBundleResponse>>;
  /** Throws SdkError code `device_mismatch` (status 409) with DeviceMismatchDetails in `details`. */
  sendMessages(recipientUserId: string, body: z.input<typeof SendMessagesRequest>): Promise<z.infer<typeof SendResult>>;
}

export interface StreamHandlers {
  /** Called one at a time, in order; the stream waits for it before the next envelope. */
  onEnvelope(envelope: z.infer<typeof InboundEnvelope>): Promise<void>;
  onDrained?(): void;
  onKeysLow?(counts: { preKeys: number; kyberPreKeys: number }): void;
  /** The session behind the socket ended (logout, revoke, automatic logoff): sign in again. */
  onSessionEnded?(reason: string): void;
  /** This device was removed from its account (here or by an admin): it receives nothing more; register again. */
  onDeviceRemoved?(): void;
  /** Connection state for UIs; the stream reconnects by itself unless the session ended. */
  onConnection?(state: 'connected' | 'subscribed' | 'disconnected'): void;
  onError?(err: Error): void;
}

export interface MessageStream {
  ack(ids: readonly string[]): void;
  close(): Promise<void>;
}

export interface MessagingTransport extends MessagingHttp {
  /** Receive as `deviceId`: backlog first, then live, until closed. */
  subscribe(deviceId: number, handlers: StreamHandlers): Promise<MessageStream>;
}
