/**
 * Versioned template storage on both engines: immutable versions, content hashes, idempotent
 * saves, audit records with ids only, and refusals that store nothing.
 */
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { createAuditLog, type AuditRecord } from '../audit/index.ts';
import type { AppError } from '../errors.ts';
import { createReminderText } from './render.ts';
import { contentHash, createTemplateStore } from './templates.ts';

const BODY = 'Hi, this is {{clinic_name}}. You have an appointment {{time_word}}. Join at {{portal_link}}. {{opt_out}}';
const actor = { actorType: 'user', actorId: randomUUID(), requestId: 'req-1', ip: '127.0.0.1' } as const;

describe.each(ENGINES)('reminder templates (%s)', (kind) => {
  const open = testDbPerTest(kind);
  const setup = async () => {
    const { db } = await open();
    const audit = createAuditLog(db);
    const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.clinic.example' });
    return { db, templates: createTemplateStore({ db, audit, text }) };
  };
  const saves = async (db: Awaited<ReturnType<typeof setup>>['db']) => db.query<AuditRecord>(`SELECT * FROM audit_log WHERE action = 'template.save' ORDER BY seq`);

  it('stores each save as a new immutable version with its content hash, audited with ids only', async () => {
    const { db, templates } = await setup();
    const v1 = await templates.save({ name: 'day-before', channel: 'sms', body: BODY }, actor);
    expect(v1.created).toBe(true);
    expect(v1.template).toMatchObject({ name: 'day-before', channel: 'sms', version: 1, subject: null, body: BODY, createdBy: actor.actorId });
    const expected = createHash('sha256').update(JSON.stringify({ v: 1, channel: 'sms', subject: null, body: BODY })).digest('hex');
    expect(v1.template.hash).toBe(expected);

    const v2 = await templates.save({ name: 'day-before', channel: 'sms', body: `${BODY} Thank you.` }, actor);
    expect(v2.template).toMatchObject({ id: v1.template.id, version: 2 });
    expect(v2.template.hash).not.toBe(v1.template.hash);

    expect((await templates.get(v1.template.id))?.version).toBe(2);
    expect((await templates.get(v1.template.id, 1))?.body).toBe(BODY);
    expect(await templates.get(v1.template.id, 3)).toBeNull();
    expect(await templates.get('not-a-uuid')).toBeNull();
    expect((await templates.latest('day-before'))?.version).toBe(2);
    expect(await templates.latest('nope')).toBeNull();
    expect(await templates.list()).toEqual([{ id: v1.template.id, name: 'day-before', channel: 'sms', latestVersion: 2, updatedAt: expect.any(Date) as Date }]);
    expect(await templates.exists(v1.template.id, 1, 'sms')).toBe(true);
    expect(await templates.exists(v1.template.id, 1, 'email')).toBe(false);
    expect(await templates.exists(v1.template.id, 9, 'sms')).toBe(false);

    const records = await saves(db);
    expect(records.map((r) => r.details)).toEqual([
      { templateId: v1.template.id, version: 1, hash: v1.template.hash },
      { templateId: v1.template.id, version: 2, hash: v2.template.hash },
    ]);
    expect(records[0]).toMatchObject({ actor_type: 'user', actor_id: actor.actorId, resource_type: 'template', resource_id: v1.template.id, outcome: 'success' });
    expect(JSON.stringify(records)).not.toContain('appointment {{time_word}}');

    await expect(db.query('UPDATE reminder_template_versions SET body = $1', ['changed'])).rejects.toThrow(/immutable/);
    await expect(db.query('DELETE FROM reminder_template_versions')).rejects.toThrow(/immutable/);
  });

  it('returns the latest version unchanged when the same content is saved again (line endings and NFC are canonical)', async () => {
    const { db, templates } = await setup();
    const body = 'Hola, {{clinic_name}}: cita {{time_word}}.\nEntre en {{portal_link}}\n{{opt_out}}';
    const first = await templates.save({ name: 'es', channel: 'sms', body: body.normalize('NFD') }, actor);
    const again = await templates.save({ name: 'es', channel: 'sms', body: body.replaceAll('\n', '\r\n') }, actor);
    expect(again).toEqual({ template: first.template, created: false });
    expect(first.template.body).toBe(body.normalize('NFC'));
    expect(await saves(db)).toHaveLength(1);
  });

  it('keeps an e-mail template’s subject and refuses a name reused for the other channel', async () => {
    const { templates } = await setup();
    const e = await templates.save({ name: 'email-reminder', channel: 'email', subject: 'A reminder from {{clinic_name}}', body: BODY }, actor);
    expect(e.template.subject).toBe('A reminder from {{clinic_name}}');
    expect(e.template.hash).toBe(contentHash({ channel: 'email', subject: 'A reminder from {{clinic_name}}', body: BODY }));
    await expect(templates.save({ name: 'email-reminder', channel: 'sms', body: BODY }, actor)).rejects.toMatchObject({ status: 409, code: 'template_channel_mismatch' });
    await expect(templates.save({ name: 'x', channel: 'email', body: BODY }, actor)).rejects.toMatchObject({ status: 400, fields: [{ path: 'subject' }] });
    await expect(templates.save({ name: 'y', channel: 'sms', subject: 'Hi', body: BODY }, actor)).rejects.toMatchObject({ status: 400 });
    await expect(templates.save({ name: 'Bad Name', channel: 'sms', body: BODY }, actor)).rejects.toMatchObject({ status: 400, fields: [{ path: 'name' }] });
  });

  it('refuses PHI-shaped content with the rule and position, stores nothing and audits nothing', async () => {
    const { db, templates } = await setup();
    let caught: unknown;
    try {
      await templates.save({ name: 'bad', channel: 'sms', body: '{{clinic_name}}: your dialysis is on 3/14 at 9am. Call 555-867-5309. {{opt_out}}' }, actor);
    } catch (err) {
      caught = err;
    }
    const e = caught as AppError;
    expect(e).toMatchObject({ status: 422, code: 'template_rejected' });
    expect(e.fields?.map((f) => f.message)).toEqual([
      'medical_term: a procedure term at 1:23',
      'date: a numeric date at 1:38',
      'clock_time: a clock time at 1:46',
      'phone_number: a 10-digit phone number at 1:56',
    ]);
    expect(e.fields?.every((f) => f.path === 'body.body')).toBe(true);
    expect(JSON.stringify(e.fields)).not.toMatch(/dialysis|3\/14|555/);
    expect(await templates.list()).toEqual([]);
    expect(await saves(db)).toEqual([]);
  });

  it('numbers concurrent saves of one name one after the other', async () => {
    const { templates } = await setup();
    const results = await Promise.all([1, 2, 3, 4].map((n) => templates.save({ name: 'race', channel: 'sms', body: `${BODY} ${'Thanks. '.repeat(n)}` }, actor)));
    expect(results.map((r) => r.template.version).sort()).toEqual([1, 2, 3, 4]);
    expect(new Set(results.map((r) => r.template.id)).size).toBe(1);
  });

  it('renders a stored version and refuses one that would name the recipient', async () => {
    const { templates } = await setup();
    const { template } = await templates.save({ name: 'r', channel: 'sms', body: BODY }, actor);
    expect(templates.render(template, { timeWord: 'today', patientNames: ['Grace', 'Hopper'] }).text).toContain('appointment today');
    expect(() => templates.render(template, { timeWord: 'today', patientNames: ['Riverside'] })).toThrow(expect.objectContaining({ reason: 'phi_lint' }) as Error);
  });
});
