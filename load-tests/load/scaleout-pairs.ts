/**
 * Device pairs spread over several gateway processes: pair k's provider is signed in and
 * connected on gateway k mod N, its patient on gateway (k+1) mod N, so every text crosses from one
 * process to another (durable store in PostgreSQL, notice over Redis pub/sub, push on the other
 * process's socket). Each text is counted per id at the recipient: 0 lost, 0 duplicated.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createDeviceKeys, createGatewayTransport, LocalStore, Messenger, redeemEnrollmentCode, setDeviceId } from '../../sdk/index.ts';
import { Trend } from './metrics.ts';
import { createPatient, createStaff, enrollmentCode, firstSignIn } from './seed.ts';

/** Fewer one-time prekeys than the SDK's 100: see LOAD_DEVICE_PREKEYS in messaging-pairs.ts. */
const PREKEYS = 12;
const FILLER = 'x'.repeat(160);

export interface XDevice {
  readonly name: string;
  readonly userId: string;
  readonly gateway: number;
  readonly messenger: Messenger;
  readonly store: LocalStore;
}

export interface XPair {
  readonly index: number;
  readonly providerStaffId: string;
  readonly provider: XDevice;
  readonly patient: XDevice;
}

async function openDevice(dir: string, name: string, urls: readonly string[], gateway: number, token: string, userId: string): Promise<XDevice> {
  const store = await LocalStore.create(path.join(dir, name), { rawKey: randomBytes(32) });
  try {
    const transport = createGatewayTransport({ baseUrl: urls[gateway] ?? '', token });
    const messenger = new Messenger({ store, transport });
    const body = await createDeviceKeys(store, userId, { preKeys: PREKEYS, kyberPreKeys: PREKEYS, label: 'load' });
    const { deviceId } = await transport.registerDevice(body);
    await setDeviceId(store, deviceId);
    return { name, userId, gateway, messenger, store };
  } catch (err) {
    await store.close();
    throw err;
  }
}

export async function seedCrossPair(urls: readonly string[], adminToken: string, dir: string, index: number): Promise<XPair> {
  const tag = String(index).padStart(4, '0');
  const proGw = index % urls.length;
  const patGw = (index + 1) % urls.length;
  const proUrl = urls[proGw] ?? '';
  const staff = await createStaff(proUrl, adminToken, 'provider', `load-xpro-${tag}`);
  const pro = await firstSignIn(proUrl, staff.username, staff.password);
  const patientId = await createPatient(proUrl, pro.token, index);
  const code = await enrollmentCode(proUrl, pro.token, patientId);
  const pat = await redeemEnrollmentCode({ baseUrl: urls[patGw] ?? '' }, code);
  const provider = await openDevice(dir, `xpro-${tag}`, urls, proGw, pro.token, pro.userId);
  const patient = await openDevice(dir, `xpat-${tag}`, urls, patGw, pat.token, pat.userId);
  return { index, providerStaffId: staff.id, provider, patient };
}

export async function closeXDevice(d: XDevice): Promise<void> {
  await d.messenger.close();
  await d.store.close();
}

/** Texts by id: sent (and accepted?) and how many times each was decrypted at its recipient. */
export class TextLedger {
  readonly #sent = new Map<string, { t0: number; accepted: boolean; arrivals: number }>();
  readonly e2e = new Trend();
  readonly errors: string[] = [];
  errorCount = 0;
  unknown = 0;
  lastArrival = 0;

  listen(d: XDevice): void {
    d.messenger.on('message', (e) => this.#arrived(e.message.text));
    d.messenger.on('decryptError', (e) => this.error(`${d.name}: decrypt error ${e.error.code}`));
    d.messenger.on('error', (e) => this.error(`${d.name}: ${e.error.message}`));
    d.messenger.on('sessionEnded', (e) => this.error(`${d.name}: session ended (${e.reason})`));
  }

  error(what: string): void {
    this.errorCount++;
    if (this.errors.length < 10) this.errors.push(what);
  }

  #arrived(text: string): void {
    const id = text.split('|', 1)[0] ?? '';
    const s = this.#sent.get(id);
    if (s === undefined) {
      this.unknown++;
      return;
    }
    s.arrivals++;
    // Warm-up texts (`w:`) set up sessions and are not measured.
    if (s.arrivals === 1 && id.startsWith('m:')) {
      this.lastArrival = performance.now();
      this.e2e.add(this.lastArrival - s.t0);
    }
  }

  async send(from: XDevice, to: XDevice, id: string): Promise<void> {
    const s = { t0: performance.now(), accepted: false, arrivals: 0 };
    this.#sent.set(id, s);
    try {
      await from.messenger.sendText(to.userId, `${id}|${FILLER}`);
      s.accepted = true;
    } catch (err) {
      this.error(`${from.name}: send ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Resolves once `id` arrived (warm-up), or rejects after `ms`. */
  async arrival(id: string, ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while ((this.#sent.get(id)?.arrivals ?? 0) === 0) {
      if (performance.now() > deadline) throw new Error(`text ${id} did not arrive within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  counts(prefix: string): { sent: number; accepted: number; delivered: number; lost: number; duplicated: number } {
    let sent = 0;
    let accepted = 0;
    let delivered = 0;
    let lost = 0;
    let duplicated = 0;
    for (const [id, s] of this.#sent) {
      if (!id.startsWith(prefix)) continue;
      sent++;
      if (s.accepted) accepted++;
      if (s.arrivals > 0) delivered++;
      else lost++;
      if (s.arrivals > 1) duplicated += s.arrivals - 1;
    }
    return { sent, accepted, delivered, lost, duplicated };
  }
}
