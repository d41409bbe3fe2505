/**
 * Launching a reminder campaign: the channel and purpose, a saved template version for that
 * channel, and who gets it — the appointments in a time window (optionally one provider's and/or
 * one clinic's) or a listed set of appointment ids. The gateway picks the recipients and queues
 * one reminder per patient; consent and the appointment are checked again when each is sent.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../../shared/api.ts';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, Field } from '../kit/ui.tsx';
import { dateTimeValue, fromDateTimeValue } from './datetime.ts';
import { CAMPAIGN_MESSAGES } from './messages.ts';
import { CHANNEL_NAMES, PURPOSES, PURPOSE_NAMES, type CampaignSummary, type Channel, type Clinic, type Provider, type Purpose, type TemplateSummary } from './types.ts';
import { ChannelField } from './channel-field.tsx';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_LISTED = 10_000;
const MAX_WINDOW_DAYS = 92;

type Kind = 'window' | 'appointments';

export function CampaignForm(props: { templates: readonly TemplateSummary[]; providers: readonly Provider[]; clinics: readonly Clinic[]; onCreated: (c: CampaignSummary) => void; onSavedNotQueued: () => void }): JSX.Element {
  const { call } = useConsole();
  const now = new Date();
  const [form, setForm] = useState({
    channel: 'sms' as Channel,
    purpose: 'appointment_reminders' as Purpose,
    templateId: '',
    version: '',
    kind: 'window' as Kind,
    from: dateTimeValue(now),
    to: dateTimeValue(new Date(now.getTime() + 2 * 86_400_000)),
    providerId: '',
    clinicId: '',
    ids: '',
  });
  const [problems, setProblems] = useState<Readonly<Record<string, string>>>({});
  const [error, setError] = useState<unknown>(undefined);
  const set = (patch: Partial<typeof form>): void => setForm({ ...form, ...patch });
  const choices = props.templates.filter((t) => t.channel === form.channel);
  const template = choices.find((t) => t.id === form.templateId) ?? choices[0];
  const version = form.version === '' ? template?.latestVersion : Number(form.version);

  const launch = async (): Promise<void> => {
    const own: Record<string, string> = {};
    if (template === undefined) own['template'] = `No ${CHANNEL_NAMES[form.channel]} template is saved yet. Write one under Templates first.`;
    else if (version === undefined || !Number.isInteger(version) || version < 1 || version > template.latestVersion) own['version'] = `Choose a version from 1 to ${template.latestVersion}.`;
    let selector: object | undefined;
    if (form.kind === 'window') {
      const from = fromDateTimeValue(form.from);
      const to = fromDateTimeValue(form.to);
      if (from === undefined) own['from'] = 'Enter when the window starts.';
      if (to === undefined) own['to'] = 'Enter when the window ends.';
      else if (from !== undefined && to <= from) own['to'] = 'The window must end after it starts.';
      else if (from !== undefined && to.getTime() - from.getTime() > MAX_WINDOW_DAYS * 86_400_000) own['to'] = `The window may span at most ${MAX_WINDOW_DAYS} days.`;
      if (from !== undefined && to !== undefined) {
        selector = { kind: 'window', from: from.toISOString(), to: to.toISOString(), ...(form.providerId === '' ? {} : { providerId: form.providerId }), ...(form.clinicId === '' ? {} : { clinicId: form.clinicId }) };
      }
    } else {
      const ids = [...new Set(form.ids.split(/[\s,;]+/).filter((s) => s !== ''))];
      const bad = ids.filter((s) => !UUID_RE.test(s));
      if (ids.length === 0) own['ids'] = 'List at least one appointment id.';
      else if (bad.length > 0) own['ids'] = `${bad.length === 1 ? 'One entry is' : `${bad.length} entries are`} not an appointment id (the first is on line ${form.ids.split('\n').findIndex((l) => l.includes(bad[0] ?? '')) + 1}).`;
      else if (ids.length > MAX_LISTED) own['ids'] = `At most ${MAX_LISTED} appointments per campaign.`;
      selector = { kind: 'appointments', appointmentIds: ids };
    }
    setProblems(own);
    setError(undefined);
    if (Object.keys(own).length > 0 || template === undefined || selector === undefined) return;
    try {
      const created = await call<Omit<CampaignSummary, 'states'>>('/campaigns', { body: { channel: form.channel, purpose: form.purpose, templateId: template.id, templateVersion: version, selector } });
      props.onCreated({ ...created, states: { queued: created.total, sending: 0, sent: 0, delivered: 0, skipped: 0, failed: 0, undelivered: 0 } });
    } catch (err) {
      setError(err);
      // Saved but not (all) queued: it is in the list now, to be resumed.
      if (err instanceof ApiError && err.status === 503) props.onSavedNotQueued();
    }
  };

  return (
    <div class="form" data-testid="campaign-form">
      <div class="grid2">
        <ChannelField testId="campaign-channel" value={form.channel} onChange={(channel) => set({ channel, templateId: '', version: '' })} />
        <Field label="Purpose" hint="Only patients who consented to this purpose on this channel are sent a reminder.">
          {(id, describedBy) => (
            <select id={id} data-testid="campaign-purpose" value={form.purpose} aria-describedby={describedBy} onChange={(e) => set({ purpose: e.currentTarget.value as Purpose })}>
              {PURPOSES.map((p) => (
                <option key={p} value={p}>
                  {PURPOSE_NAMES[p]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Template" problem={problems['template']}>
          {(id, describedBy) => (
            <select id={id} data-testid="campaign-template" value={template?.id ?? ''} aria-describedby={describedBy} onChange={(e) => set({ templateId: e.currentTarget.value, version: '' })}>
              {choices.length === 0 ? <option value="">No saved templates for this channel</option> : null}
              {choices.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name} (latest: version {t.latestVersion})
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Template version" problem={problems['version']}>
          {(id, describedBy) => (
            <input id={id} type="number" data-testid="campaign-version" min={1} max={template?.latestVersion ?? 1} value={version ?? ''} aria-describedby={describedBy} onInput={(e) => set({ version: e.currentTarget.value })} />
          )}
        </Field>
      </div>
      <fieldset class="choices">
        <legend>Who gets it</legend>
        <label class="choice">
          <input type="radio" name="campaign-kind" data-testid="kind-window" checked={form.kind === 'window'} onChange={() => set({ kind: 'window' })} />
          Appointments in a time window
        </label>
        <label class="choice">
          <input type="radio" name="campaign-kind" data-testid="kind-appointments" checked={form.kind === 'appointments'} onChange={() => set({ kind: 'appointments' })} />
          Listed appointments
        </label>
      </fieldset>
      {form.kind === 'window' ? (
        <div class="grid2">
          <Field label="Appointments starting from" problem={problems['from']}>
            {(id, describedBy) => <input id={id} type="datetime-local" data-testid="campaign-from" value={form.from} aria-describedby={describedBy} onInput={(e) => set({ from: e.currentTarget.value })} />}
          </Field>
          <Field label="Until" problem={problems['to']}>
            {(id, describedBy) => <input id={id} type="datetime-local" data-testid="campaign-to" value={form.to} aria-describedby={describedBy} onInput={(e) => set({ to: e.currentTarget.value })} />}
          </Field>
          <Field label="Provider">
            {(id) => (
              <select id={id} data-testid="campaign-provider" value={form.providerId} onChange={(e) => set({ providerId: e.currentTarget.value })}>
                <option value="">Any provider</option>
                {props.providers.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.displayName}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Clinic">
            {(id) => (
              <select id={id} data-testid="campaign-clinic" value={form.clinicId} onChange={(e) => set({ clinicId: e.currentTarget.value })}>
                <option value="">Any clinic</option>
                {props.clinics.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
      ) : (
        <Field label="Appointment ids" hint="One per line (or separated by commas). Each patient gets one reminder, for their earliest listed appointment." problem={problems['ids']}>
          {(id, describedBy) => <textarea id={id} data-testid="campaign-ids" value={form.ids} aria-describedby={describedBy} onInput={(e) => set({ ids: e.currentTarget.value })} />}
        </Field>
      )}
      <ErrorNote error={error} own={CAMPAIGN_MESSAGES} />
      <div class="row">
        <Button kind="primary" testId="campaign-launch" onClick={launch}>
          Launch campaign
        </Button>
      </div>
    </div>
  );
}
