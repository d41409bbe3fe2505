// The notice outbox: notices for one recipient made in one turn go out as one publish (split at the
// schema's cap), other recipients and later turns get their own, and a failed publish reaches
// every caller whose refs it carried.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { StoredRef } from './envelope-store.ts';
import { Notice } from './notice-bus.ts';
import { createNoticeOutbox, MAX_REFS_PER_NOTICE } from './notice-outbox.ts';

let seq = 0;
const ref = (deviceId = 1): StoredRef => ({ id: randomUUID(), seq: ++seq, deviceId });

function recording(fail?: (n: Notice) => boolean) {
  const published: Notice[] = [];
  const publish = (n: Notice): Promise<void> => {
    // Every notice must pass the schema the subscribers parse with.
    expect(Notice.safeParse(n).success).toBe(true);
    published.push(n);
    return fail?.(n) === true ? Promise.reject(new Error('redis down')) : Promise.resolve();
  };
  return { published, outbox: createNoticeOutbox(publish) };
}

const refsOf = (n: Notice | undefined): string[] => (n?.k === 'env' ? n.e.map((e) => e.id) : []);

describe('notice outbox', () => {
  it('publishes one notice per recipient for what was added in one turn, in order', async () => {
    const r = recording();
    const a = randomUUID();
    const b = randomUUID();
    const refsA = [ref(1), ref(2), ref(1)];
    const refsB = [ref(1)];
    await Promise.all([r.outbox.add(a, [refsA[0] ?? ref()]), r.outbox.add(b, refsB), r.outbox.add(a, refsA.slice(1)), r.outbox.add(a, [])]);
    expect(r.published.map((n) => n.u)).toEqual([a, b]);
    expect(refsOf(r.published[0])).toEqual(refsA.map((x) => x.id));
    expect(r.published[0]).toMatchObject({ k: 'env', e: refsA.map((x) => ({ d: x.deviceId, id: x.id, s: x.seq })) });
    expect(refsOf(r.published[1])).toEqual(refsB.map((x) => x.id));

    await r.outbox.add(a, [ref()]);
    expect(r.published).toHaveLength(3);
  });

  it('splits a large turn at the notice cap without losing a ref', async () => {
    const r = recording();
    const user = randomUUID();
    const refs = Array.from({ length: MAX_REFS_PER_NOTICE * 2 + 5 }, () => ref());
    await Promise.all(refs.map((x) => r.outbox.add(user, [x])));
    expect(r.published.map((n) => refsOf(n).length)).toEqual([MAX_REFS_PER_NOTICE, MAX_REFS_PER_NOTICE, 5]);
    expect(r.published.flatMap(refsOf)).toEqual(refs.map((x) => x.id));
  });

  it('rejects every caller of a failed publish, and only those', async () => {
    const bad = randomUUID();
    const good = randomUUID();
    const r = recording((n) => n.u === bad);
    const results = await Promise.allSettled([r.outbox.add(bad, [ref()]), r.outbox.add(good, [ref()]), r.outbox.add(bad, [ref()])]);
    expect(results.map((x) => x.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    // A later turn publishes again.
    await expect(r.outbox.add(good, [ref()])).resolves.toBeUndefined();
  });
});
