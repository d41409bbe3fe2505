/**
 * Test helper: a registered SDK device in a temp dir, and a bundle built the way the gateway
 * serves one (the public parts of the registration, through core/protocol's DeviceBundle schema).
 * Used by sdk tests only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { DeviceBundle, RegisterDeviceRequest } from '../../core/protocol/messaging.ts';
import { DeviceCipher } from '../cipher.ts';
import { createDeviceKeys, setDeviceId } from '../device-keys.ts';
import { LocalStore, type StoreKey } from '../local-store.ts';
import type { IdentityChangeNotice } from '../signal-stores.ts';

export interface TestDevice {
  readonly dir: string;
  readonly userId: string;
  readonly deviceId: number;
  readonly store: LocalStore;
  readonly cipher: DeviceCipher;
  readonly registration: z.infer<typeof RegisterDeviceRequest>;
  readonly changes: IdentityChangeNotice[];
  /** Hand out the next bundle, consuming one one-time EC and Kyber prekey like the server does. */
  nextBundle(): z.infer<typeof DeviceBundle>;
}

export async function makeDevice(userId: string, deviceId: number, key: StoreKey = { passphrase: 'correct horse battery staple' }, dir?: string): Promise<TestDevice> {
  const d = dir ?? (await mkdtemp(path.join(tmpdir(), 'sdk-device-')));
  const store = await LocalStore.create(d, key);
  const registration = RegisterDeviceRequest.parse(JSON.parse(JSON.stringify(await createDeviceKeys(store, userId, { preKeys: 3, kyberPreKeys: 3 }))));
  await setDeviceId(store, deviceId);
  const changes: IdentityChangeNotice[] = [];
  const cipher = new DeviceCipher(store, (n) => changes.push(n));
  const pre = [...registration.preKeys];
  const kyber = [...registration.kyberPreKeys];
  return {
    dir: d,
    userId,
    deviceId,
    store,
    cipher,
    registration,
    changes,
    nextBundle() {
      const preKey = pre.shift() ?? null;
      const k = kyber.shift();
      const served = {
        deviceId,
        registrationId: registration.registrationId,
        identityKey: registration.identityKey,
        signedPreKey: registration.signedPreKey,
        preKey,
        kyberPreKey: k ? { ...k, lastResort: false } : { ...registration.lastResortKyberPreKey, lastResort: true },
      };
      return DeviceBundle.parse(JSON.parse(JSON.stringify(served)));
    },
  };
}

export async function disposeDevice(d: TestDevice): Promise<void> {
  await d.store.close();
  await rm(d.dir, { recursive: true, force: true });
}
