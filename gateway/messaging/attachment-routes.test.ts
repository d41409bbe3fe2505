import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { connectRedis } from '../../core/redis/connect.ts';
import { testDbPerTest } from '../../test/helpers/databases.ts';
import { identityHarness } from '../testing/identity-harness.ts';
import { attachmentRoutes } from './attachment-routes.ts';
import { createAttachmentStore } from './attachment-store.ts';

describe('attachment routes', () => {
  const open = testDbPerTest('pglite');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const { db } = await open();
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const h = identityHarness({
      db,
      redis,
      // The general body limit is smaller than an attachment: only the attachment path may exceed it.
      env: { BODY_LIMIT_BYTES: '1024', ATTACHMENT_MAX_BYTES: '4096', ATTACHMENT_TTL_DAYS: '7' },
      routes: (identity, { config }) => [attachmentRoutes({ config, access: identity.access, sessionMw: identity.sessionMw, attachments: createAttachmentStore(db) })],
    });
    cleanups.push(() => h.close());
    const provider = await h.seedStaff('provider');
    const patientId = await h.seedPatient();
    const pro = (await h.staffSession(provider)).token;
    const pat = (await h.patientSession(patientId, 'messaging')).token;
    const upload = (token: string, bytes: Uint8Array, type = 'application/octet-stream') =>
      h.app.request('/v1/attachments', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: bytes });
    const download = (token: string, id: string) => h.app.request(`/v1/attachments/${id}`, { headers: { authorization: `Bearer ${token}` } });
    return { db, h, pro, pat, upload, download };
  }

  it('stores encrypted bytes above the general body limit and serves them to a messaging principal with the id', async () => {
    const t = await setup();
    const bytes = randomBytes(3000);
    const res = await t.upload(t.pro, bytes);
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; size: number; expiresAt: string };
    expect(created.size).toBe(3000);
    const days = (Date.parse(created.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);

    const got = await t.download(t.pat, created.id);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);

    // The larger limit is for this path only.
    const json = await t.h.call('POST', '/appointments', t.pro, { pad: 'x'.repeat(2000) });
    expect(json.status).toBe(413);
  });

  it('refuses oversize uploads (413), other media types (415), and roles that never message (403)', async () => {
    const t = await setup();
    expect((await t.upload(t.pro, randomBytes(4097))).status).toBe(413);
    expect((await t.upload(t.pro, randomBytes(10), 'application/json')).status).toBe(415);
    const scheduler = (await t.h.staffSession(await t.h.seedStaff('scheduler'))).token;
    expect((await t.upload(scheduler, randomBytes(10))).status).toBe(403);
    const id = ((await (await t.upload(t.pro, randomBytes(10))).json()) as { id: string }).id;
    expect((await t.download(scheduler, id)).status).toBe(403);
    expect(await t.db.query('SELECT 1 FROM attachments')).toHaveLength(1);
  });

  it('answers 404 for unknown and expired attachments', async () => {
    const t = await setup();
    const id = ((await (await t.upload(t.pro, randomBytes(10))).json()) as { id: string }).id;
    expect((await t.download(t.pat, randomUUID())).status).toBe(404);
    expect((await t.download(t.pat, id)).status).toBe(200);
    await t.db.query(`UPDATE attachments SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    expect((await t.download(t.pat, id)).status).toBe(404);
  });
});
