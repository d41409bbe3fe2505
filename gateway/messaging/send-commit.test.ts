// Group commit against both engines: many concurrent sends through two batchers (two gateways on
// one database) each get their own answer, envelopes are stored once, the audit chain verifies,
// and a seq-cursor reader running meanwhile never skips an envelope (commit order = seq order).
import { describe, expect, it } from 'vitest';
import { ActorType, AuditAction, AuditOutcome, createAuditLog, InvalidAuditEntryError, verifyChain } from '../../core/audit/index.ts';
import type { Db } from '../../core/db/types.ts';
import { AppError } from '../../core/errors.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createEnvelopeStore, type StoredRef } from './envelope-store.ts';
import { createGroupBatcher } from '../../core/batch/group-batcher.ts';
import { commitSends, type PendingSend } from './send-commit.ts';
import { seedDevice, seedStaffUser } from './test-fixtures.ts';

const RECIPIENTS = 4;
const DEVICES = 2;
const LANES = 24;
const PER_LANE = 15;
const GATEWAYS = 6;

describe.each(ENGINES)('group send commit (%s)', (kind) => {
  const open = testDbPerTest(kind);

  async function setup() {
    const { db } = await open();
    const sender = await seedStaffUser(db);
    await seedDevice(db, sender, 1, 500);
    const recipients: string[] = [];
    for (let r = 0; r < RECIPIENTS; r++) {
      const id = await seedStaffUser(db);
      for (let d = 1; d <= DEVICES; d++) await seedDevice(db, id, d, regId(r, d));
      recipients.push(id);
    }
    return { db, sender, recipients, store: createEnvelopeStore(db), audit: createAuditLog(db) };
  }
  const regId = (r: number, d: number): number => 100 * (r + 1) + d;

  /** A gateway's batcher over the shared database; records its group sizes. */
  function gateway(db: Db, deps: Parameters<typeof commitSends>[2], maxBatch: number) {
    const sizes: number[] = [];
    const groupErrors: unknown[] = [];
    const batcher = createGroupBatcher<PendingSend, StoredRef[]>({
      maxBatch,
      commit: (items) => {
        sizes.push(items.length);
        return db.transaction((tx) => commitSends(tx, items, deps));
      },
      onGroupError: (err) => groupErrors.push(err),
    });
    return { batcher, sizes, groupErrors };
  }

  function pending(sender: string, recipient: string, r: number, text: string, stale = false): PendingSend {
    const addressed = Array.from({ length: DEVICES }, (_, i) => ({ deviceId: i + 1, registrationId: regId(r, i + 1) + (stale && i === 1 ? 7 : 0) }));
    return {
      recipientUser: recipient,
      senderUser: sender,
      senderDevice: 1,
      addressed,
      envelopes: addressed.map((a) => ({ deviceId: a.deviceId, type: 2, content: Buffer.from(`${text}/${a.deviceId}`) })),
      audit: {
        actorType: ActorType.user, actorId: sender, action: AuditAction.messageSend, resourceType: 'user', resourceId: recipient, outcome: AuditOutcome.success,
        details: { senderDevice: 1, recipientDevices: DEVICES, bytes: text.length },
      },
    };
  }

  it('answers each of many concurrent sends, stores each once, keeps the chain and per-recipient seq order', { timeout: 60_000 }, async () => {
    const t = await setup();
    const gateways = Array.from({ length: GATEWAYS }, () => gateway(t.db, t, 4));
    // Seq-cursor readers, one per recipient device, polling while the sends run.
    const seen = new Map<string, string[]>();
    let sending = true;
    const readers = t.recipients.flatMap((u) =>
      Array.from({ length: DEVICES }, async (_, i) => {
        const key = `${u}/${i + 1}`;
        const got: string[] = [];
        seen.set(key, got);
        let cursor = 0;
        for (;;) {
          const done = !sending;
          const batch = await t.store.listPending(u, i + 1, { afterSeq: cursor, limit: 50 });
          for (const e of batch) {
            got.push(e.id);
            cursor = e.seq;
          }
          if (done && batch.length === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }),
    );

    // Lanes send one after another (each awaits its answer); lanes run concurrently. Every 5th send is stale.
    const results = await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        const r = lane % RECIPIENTS;
        const out: { text: string; stale: boolean; refs?: StoredRef[]; error?: unknown }[] = [];
        for (let i = 0; i < PER_LANE; i++) {
          const text = `l${lane}-m${i}`;
          const stale = (lane * PER_LANE + i) % 5 === 3;
          const gw = gateways[lane % GATEWAYS];
          if (!gw) throw new Error('no gateway');
          try {
            out.push({ text, stale, refs: await gw.batcher.submit(pending(t.sender, t.recipients[r] ?? '', r, text, stale)) });
          } catch (error) {
            out.push({ text, stale, error });
          }
        }
        return { lane, r, out };
      }),
    );
    sending = false;
    await Promise.all(readers);

    // Groups really formed, and nothing failed as a group.
    expect(gateways.flatMap((g) => g.sizes).some((n) => n > 1)).toBe(true);
    expect(gateways.flatMap((g) => g.groupErrors)).toEqual([]);

    let okSends = 0;
    const allIds: string[] = [];
    for (const { r, out } of results) {
      let lastSeq = 0;
      for (const s of out) {
        if (s.stale) {
          expect(s.error).toBeInstanceOf(AppError);
          expect(s.error).toMatchObject({ status: 409, code: 'device_mismatch', extra: { missingDevices: [], extraDevices: [], staleDevices: [2] } });
          continue;
        }
        expect(s.error).toBeUndefined();
        okSends++;
        const refs = s.refs ?? [];
        expect(refs.map((x) => x.deviceId)).toEqual([1, 2]);
        // One lane's sends to its recipient get increasing seqs in the order it sent them.
        for (const x of refs) {
          expect(x.seq).toBeGreaterThan(lastSeq);
          allIds.push(x.id);
        }
        lastSeq = Math.max(...refs.map((x) => x.seq));
        // The stored rows are this send's.
        const rows = await t.db.query<{ content: Buffer; recipient_user: string }>('SELECT content, recipient_user FROM envelopes WHERE id = ANY($1::uuid[]) ORDER BY recipient_device', [refs.map((x) => x.id)]);
        expect(rows.map((row) => [row.recipient_user, row.content.toString()])).toEqual([1, 2].map((d) => [t.recipients[r], `${s.text}/${d}`]));
      }
    }
    expect(okSends).toBe(LANES * PER_LANE - (LANES * PER_LANE) / 5);
    expect(new Set(allIds).size).toBe(okSends * DEVICES);
    const [{ n } = { n: -1 }] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM envelopes');
    expect(n).toBe(okSends * DEVICES);

    // The readers, which advanced a seq cursor while sends committed, saw every envelope exactly once.
    for (const [key, got] of seen) {
      const [u, d] = key.split('/');
      const all = await t.store.listPending(u ?? '', Number(d), { limit: 1000 });
      expect(got).toEqual(all.map((e) => e.id));
    }

    // One message.send per committed send, none for the refused ones; one valid chain.
    const audit = await t.db.query<{ resource_id: string; details: { bytes: number } }>("SELECT resource_id, details FROM audit_log WHERE action = 'message.send'");
    expect(audit.length).toBe(okSends);
    expect(await verifyChain(t.db, { publicKeys: [] })).toMatchObject({ ok: true, checked: okSends });
  });

  it('retries each send alone when the group fails, so one bad send fails alone', async () => {
    const t = await setup();
    const gw = gateway(t.db, t, 64);
    const r = 0;
    const recipient = t.recipients[r] ?? '';
    const good = Array.from({ length: 5 }, (_, i) => pending(t.sender, recipient, r, `ok-${i}`));
    const badEntry = pending(t.sender, recipient, r, 'bad');
    // A PHI-shaped details key: appendMany refuses it, which fails the whole group transaction.
    const bad: PendingSend = { ...badEntry, audit: { ...badEntry.audit, details: { patientName: 'x' } } };
    const settled = await Promise.allSettled([...good.slice(0, 2), bad, ...good.slice(2)].map((s) => gw.batcher.submit(s)));
    expect(gw.groupErrors.length).toBe(1);
    expect(gw.groupErrors[0]).toBeInstanceOf(InvalidAuditEntryError);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(settled[2]?.status === 'rejected' && settled[2].reason instanceof InvalidAuditEntryError).toBe(true);
    // The group, then each send alone.
    expect(gw.sizes).toEqual([6, 1, 1, 1, 1, 1, 1]);
    const stored = await t.store.listPending(recipient, 1, { limit: 100 });
    expect(stored.map((e) => e.content.toString())).toEqual(['ok-0/1', 'ok-1/1', 'ok-2/1', 'ok-3/1', 'ok-4/1']);
    expect(await verifyChain(t.db, { publicKeys: [] })).toMatchObject({ ok: true, checked: 5 });
  });

  it('excludes the sending device on a send to one’s own account, in a group with others', async () => {
    const t = await setup();
    await seedDevice(t.db, t.sender, 2, 502);
    const gw = gateway(t.db, t, 64);
    const self = (addressed: number[]): PendingSend => ({
      ...pending(t.sender, t.sender, 0, 'self'),
      addressed: addressed.map((d) => ({ deviceId: d, registrationId: 500 + d })),
      envelopes: addressed.map((d) => ({ deviceId: d, type: 2, content: Buffer.from('self') })),
    });
    const settled = await Promise.allSettled([self([2]), self([1, 2]), pending(t.sender, t.recipients[1] ?? '', 1, 'other')].map((s) => gw.batcher.submit(s)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(settled[1]).toMatchObject({ reason: { status: 409, extra: { missingDevices: [], extraDevices: [1], staleDevices: [] } } });
    expect(gw.sizes).toEqual([3]);
  });
});
