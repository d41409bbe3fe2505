/**
 * The people and devices of the messaging scenario: per pair, a provider (created by the admin,
 * signed in with an enrolled authenticator) and a patient that provider registered (so on their
 * care team) who redeemed an enrollment code. Each gets an SDK Messenger on its own encrypted
 * LocalStore in a temp directory, over the real transport (HTTP + /ws), with the message PUT
 * timed and every raw envelope id on the socket recorded.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createDeviceKeys, createGatewayTransport, LocalStore, Messenger, redeemEnrollmentCode, setDeviceId, type MessagingTransport } from '../../sdk/index.ts';
import type { Trend } from './metrics.ts';
import { createPatient, createStaff, enrollmentCode, firstSignIn } from './seed.ts';

/**
 * One-time prekeys (and Kyber prekeys) each load device uploads, instead of the SDK's 100. The
 * local store is rewritten whole on every commit, and 100 Kyber prekeys make it ~0.9 MB: forty
 * devices in one harness process would then measure the harness. Each device's bundle is fetched
 * once (by its peer), so 12 stays above the server's low-watermark (10) and no top-up is triggered.
 */
export const LOAD_DEVICE_PREKEYS = 12;

export interface Device {
  readonly name: string;
  readonly userId: string;
  readonly messenger: Messenger;
  readonly store: LocalStore;
}

export interface Pair {
  readonly index: number;
  readonly provider: Device;
  readonly patient: Device;
}

export interface DeviceProbes {
  /** Latency of each accepted PUT /v1/messages (texts and receipts). */
  readonly sendHttp: Trend;
  /** Called with every envelope id the socket hands over, before the SDK de-duplicates. */
  readonly onRawEnvelope: (id: string) => void;
}

function probedTransport(baseUrl: string, token: string, probes: DeviceProbes): MessagingTransport {
  const real = createGatewayTransport({ baseUrl, token });
  return {
    ...real,
    async sendMessages(to, body) {
      const t0 = performance.now();
      const result = await real.sendMessages(to, body);
      probes.sendHttp.add(performance.now() - t0);
      return result;
    },
    subscribe: (deviceId, handlers) =>
      real.subscribe(deviceId, {
        ...handlers,
        onEnvelope: (env) => {
          probes.onRawEnvelope(env.id);
          return handlers.onEnvelope(env);
        },
      }),
  };
}

async function openDevice(dir: string, name: string, baseUrl: string, token: string, userId: string, probes: DeviceProbes): Promise<Device> {
  // A raw key: scrypt (the passphrase path) is slow on purpose and not what is measured.
  const store = await LocalStore.create(path.join(dir, name), { rawKey: randomBytes(32) });
  try {
    const transport = probedTransport(baseUrl, token, probes);
    const messenger = new Messenger({ store, transport });
    // Messenger.registerDevice, with fewer prekeys (see LOAD_DEVICE_PREKEYS).
    const body = await createDeviceKeys(store, userId, { preKeys: LOAD_DEVICE_PREKEYS, kyberPreKeys: LOAD_DEVICE_PREKEYS, label: 'load' });
    const { deviceId } = await transport.registerDevice(body);
    await setDeviceId(store, deviceId);
    return { name, userId, messenger, store };
  } catch (err) {
    await store.close();
    throw err;
  }
}

export async function seedPair(opts: { baseUrl: string; adminToken: string; dir: string; index: number; probes: DeviceProbes }): Promise<Pair> {
  const { baseUrl, index } = opts;
  const tag = String(index).padStart(4, '0');
  const staff = await createStaff(baseUrl, opts.adminToken, 'provider', `load-pro-${tag}`);
  const pro = await firstSignIn(baseUrl, staff.username, staff.password);
  const patientId = await createPatient(baseUrl, pro.token, index);
  const code = await enrollmentCode(baseUrl, pro.token, patientId);
  const pat = await redeemEnrollmentCode({ baseUrl }, code);
  const provider = await openDevice(opts.dir, `pro-${tag}`, baseUrl, pro.token, pro.userId, opts.probes);
  const patient = await openDevice(opts.dir, `pat-${tag}`, baseUrl, pat.token, pat.userId, opts.probes);
  return { index, provider, patient };
}

export async function closeDevice(d: Device): Promise<void> {
  await d.messenger.close();
  await d.store.close();
}
