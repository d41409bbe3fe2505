// The batcher's contract, independent of the database (gateway/messaging/send-commit.test.ts runs it on both engines):
// one group in flight, the next takes what queued meanwhile up to the cap, answers go to the right
// caller, and a failed group is retried item by item.
import { describe, expect, it } from 'vitest';
import { createGroupBatcher, type Outcome } from './group-batcher.ts';

/** A commit whose groups stay open until released, to control what queues meanwhile. */
function gatedCommit() {
  const groups: number[][] = [];
  const gates: (() => void)[] = [];
  const commit = async (items: readonly number[]): Promise<Outcome<string>[]> => {
    groups.push([...items]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((i) => (i % 7 === 0 ? { ok: false, error: new Error(`refused ${i}`) } : { ok: true, value: `v${i}` }));
  };
  const releaseNext = async (): Promise<void> => {
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    gates.shift()?.();
  };
  return { commit, groups, releaseNext };
}

describe('group batcher', () => {
  it('commits what queued while the previous group ran, up to the cap, and answers each caller', async () => {
    const g = gatedCommit();
    const b = createGroupBatcher<number, string>({ commit: g.commit, onGroupError: () => undefined, maxBatch: 4 });
    const first = b.submit(1);
    while (g.groups.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 9 }, (_, i) => b.submit(i + 2));
    const settled = Promise.allSettled([first, ...rest]);
    expect(b.pending).toBe(10);
    for (let i = 0; i < 4; i++) await g.releaseNext();
    const answers = await settled;
    expect(g.groups).toEqual([[1], [2, 3, 4, 5], [6, 7, 8, 9], [10]]);
    expect(answers.map((a) => (a.status === 'fulfilled' ? a.value : (a.reason as Error).message))).toEqual(['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'refused 7', 'v8', 'v9', 'v10']);
    expect(b.pending).toBe(0);
  });

  it('groups sends submitted in the same turn, without a timer', async () => {
    const groups: number[][] = [];
    const b = createGroupBatcher<number, number>({
      commit: (items) => {
        groups.push([...items]);
        return Promise.resolve(items.map((i) => ({ ok: true, value: i * 2 })));
      },
      onGroupError: () => undefined,
    });
    expect(await Promise.all([b.submit(1), b.submit(2), b.submit(3)])).toEqual([2, 4, 6]);
    expect(await b.submit(4)).toBe(8);
    expect(groups).toEqual([[1, 2, 3], [4]]);
  });

  it('retries each item alone when a group fails, reporting the group error once', async () => {
    const calls: number[][] = [];
    const groupErrors: unknown[] = [];
    const b = createGroupBatcher<number, number>({
      commit: (items) => {
        calls.push([...items]);
        if (items.includes(3)) return Promise.reject(new Error('poisoned by 3'));
        return Promise.resolve(items.map((i) => ({ ok: true, value: i })));
      },
      onGroupError: (err, items) => groupErrors.push([err, items]),
    });
    const answers = await Promise.allSettled([1, 2, 3, 4].map((i) => b.submit(i)));
    expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(calls).toEqual([[1, 2, 3, 4], [1], [2], [3], [4]]);
    expect(groupErrors).toEqual([[new Error('poisoned by 3'), [1, 2, 3, 4]]]);
    // A lone item that fails is not retried.
    await expect(b.submit(3)).rejects.toThrow('poisoned by 3');
    expect(calls.length).toBe(6);
  });

  it('rejects every item of a group whose commit answers the wrong number of items', async () => {
    const b = createGroupBatcher<number, number>({
      commit: (items) => Promise.resolve(items.length > 1 ? [{ ok: true, value: 0 }] : []),
      onGroupError: () => undefined,
    });
    const answers = await Promise.allSettled([b.submit(1), b.submit(2)]);
    expect(answers.map((a) => a.status)).toEqual(['rejected', 'rejected']);
    expect(b.pending).toBe(0);
  });

  it('refuses a cap that is not a positive integer', () => {
    const commit = (): Promise<Outcome<number>[]> => Promise.resolve([]);
    expect(() => createGroupBatcher({ commit, onGroupError: () => undefined, maxBatch: 0 })).toThrow(RangeError);
  });
});
