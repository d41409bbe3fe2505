/**
 * Reminder templates over HTTP on the real identity stack: who may manage them, a 422 that names
 * rule and position, versions, and the editor's preview.
 */
import { describe, expect, it } from 'vitest';
import { identityPerTest } from '../../test/helpers/identity.ts';
import { createReminderText } from '../../core/reminders/render.ts';
import { createTemplateStore } from '../../core/reminders/templates.ts';
import { templateRoutes } from './template-routes.ts';

const BODY = 'Hi, this is {{clinic_name}}. You have an appointment {{time_word}}. Join at {{portal_link}}. {{opt_out}}';

describe('reminder template routes', () => {
  const harness = identityPerTest({}, (identity, { audit, db }) => {
    const text = createReminderText({ clinicName: 'Riverside Health', portalUrl: 'https://portal.clinic.example' });
    return [templateRoutes({ templates: createTemplateStore({ db, audit, text }), text, sessionMw: identity.sessionMw, access: identity.access })];
  });
  const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

  it('saves versions for schedulers and admins, answers 422 naming rule and position, and refuses other roles', async () => {
    const h = harness();
    const { token } = await h.staffSession(await h.seedStaff('scheduler'));

    const created = await h.call('POST', '/templates', token, { name: 'day-before', channel: 'sms', body: BODY });
    expect(created.status).toBe(201);
    const v1 = await json<{ id: string; version: number; hash: string }>(created);
    expect(v1).toMatchObject({ version: 1, hash: expect.stringMatching(/^[0-9a-f]{64}$/) as string });

    expect((await h.call('POST', '/templates', token, { name: 'day-before', channel: 'sms', body: BODY })).status).toBe(200);
    const v2 = await json<{ version: number }>(await h.call('POST', '/templates', token, { name: 'day-before', channel: 'sms', body: `${BODY} Thanks!` }));
    expect(v2.version).toBe(2);

    const refused = await h.call('POST', '/templates', token, { name: 'day-before', channel: 'sms', body: 'Hi {{first_name}}, {{clinic_name}} HIV clinic at 4pm. {{opt_out}}' });
    expect(refused.status).toBe(422);
    const err = (await json<{ error: { code: string; fields: { path: string; message: string }[] } }>(refused)).error;
    expect(err.code).toBe('template_rejected');
    expect(err.fields).toEqual([
      { path: 'body.body', message: expect.stringMatching(/^unknown_placeholder: .* at 1:4$/) as string },
      { path: 'body.body', message: 'medical_term: a diagnosis term at 1:36' },
      { path: 'body.body', message: 'clock_time: a clock time at 1:50' },
    ]);
    expect(JSON.stringify(err)).not.toMatch(/HIV|4pm/);

    const list = await json<{ templates: { id: string; latestVersion: number }[] }>(await h.call('GET', '/templates', token));
    expect(list.templates).toEqual([expect.objectContaining({ id: v1.id, name: 'day-before', channel: 'sms', latestVersion: 2 })]);
    expect((await json<{ version: number }>(await h.call('GET', `/templates/${v1.id}`, token))).version).toBe(2);
    const first = await json<{ version: number; hash: string; body: string }>(await h.call('GET', `/templates/${v1.id}?version=1`, token));
    expect(first).toMatchObject({ version: 1, hash: v1.hash, body: BODY });
    expect((await h.call('GET', `/templates/${v1.id}?version=7`, token)).status).toBe(404);

    const admin = await h.staffSession(await h.seedStaff('admin'));
    expect((await h.call('GET', '/templates', admin.token)).status).toBe(200);
    const provider = await h.staffSession(await h.seedStaff('provider'));
    expect((await h.call('GET', '/templates', provider.token)).status).toBe(403);
    expect((await h.call('POST', '/templates', provider.token, { name: 'p', channel: 'sms', body: BODY })).status).toBe(403);
    expect((await h.call('GET', '/templates')).status).toBe(401);

    expect((await h.auditRows('template.save')).map((r) => r.details)).toEqual([
      { templateId: v1.id, version: 1, hash: v1.hash },
      { templateId: v1.id, version: 2, hash: expect.any(String) as string },
    ]);
  });

  it('previews unsaved text: rendered sample and problems, nothing stored', async () => {
    const h = harness();
    const { token } = await h.staffSession(await h.seedStaff('scheduler'));

    const good = await json<{ ok: boolean; problems: unknown[]; rendered: { text: string; sms: { segments: number } } }>(
      await h.call('POST', '/templates/preview', token, { channel: 'sms', body: BODY, timeWord: 'today' }),
    );
    expect(good.ok).toBe(true);
    expect(good.problems).toEqual([]);
    expect(good.rendered.text).toBe('Hi, this is Riverside Health. You have an appointment today. Join at https://portal.clinic.example. Reply STOP to opt out.');
    expect(good.rendered.sms.segments).toBe(1);

    const email = await json<{ ok: boolean; rendered: { subject: string; html: string } }>(
      await h.call('POST', '/templates/preview', token, { channel: 'email', subject: '{{clinic_name}} reminder', body: `${BODY}\n\nSee you {{time_word}}.` }),
    );
    expect(email.ok).toBe(true);
    expect(email.rendered.subject).toBe('Riverside Health reminder');
    expect(email.rendered.html).toContain('<p>See you tomorrow.</p>');

    const bad = await json<{ ok: boolean; problems: { path: string; rule: string; line: number; column: number }[] }>(
      await h.call('POST', '/templates/preview', token, { channel: 'sms', body: '{{clinic_name}} {{opt_out}}\nYour chemo is on May 3rd.' }),
    );
    expect(bad.ok).toBe(false);
    expect(bad.problems.map((p) => [p.rule, p.line, p.column])).toEqual([
      ['medical_term', 2, 6],
      ['date', 2, 18],
    ]);

    expect((await h.call('POST', '/templates/preview', token, { channel: 'email', body: BODY })).status).toBe(400);
    expect((await json<{ templates: unknown[] }>(await h.call('GET', '/templates', token))).templates).toEqual([]);
  });
});
