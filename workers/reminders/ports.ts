/**
 * What the reminder processor needs from the rest of the system, built from the real pieces:
 * the consent ledger (current state at send time), the minimum-necessary recipient read (address,
 * time zone and names only, decrypted for the `reminders` system actor), and the versioned
 * templates (rendered and PHI-linted with the patient's own names). Consent and recipients are
 * read for all the jobs running at once in one query each (core/batch/group-batcher.ts); template
 * versions never change once saved, so each is read once per process.
 */
import { createGroupBatcher, type GroupBatcher, type Outcome } from '../../core/batch/group-batcher.ts';
import type { Channel } from '../../core/campaigns/store.ts';
import type { ConsentLedger, ConsentPurpose } from '../../core/consent/index.ts';
import type { RecipientLookup, RecipientReader } from '../../core/patients/index.ts';
import { TemplateRenderError } from '../../core/reminders/render.ts';
import { timeWordFor } from '../../core/reminders/template-text.ts';
import type { TemplateStore, TemplateVersion } from '../../core/reminders/templates.ts';
import type { ConsentNow, ProcessorPorts } from './processor.ts';

export interface PortDeps {
  readonly ledger: Pick<ConsentLedger, 'currentForMany'>;
  readonly recipients: RecipientReader;
  readonly templates: Pick<TemplateStore, 'get' | 'render'>;
  readonly timeWords: Parameters<typeof timeWordFor>[3];
  readonly now?: () => Date;
  readonly onGroupError?: (err: unknown) => void;
}

/** A render refusal the processor records as a `phi_lint` skip. */
class PhiLintRefusal extends Error {
  readonly phiLint = true;
  constructor(reason: string) {
    super(`reminder text refused: ${reason}`);
    this.name = 'PhiLintRefusal';
  }
}

/** Template versions kept per process (immutable once saved; a clinic has a handful). */
const TEMPLATE_CACHE_MAX = 256;

/**
 * A batched read: keys submitted in the same turn share one call of `fetch` per distinct `part`
 * (channel, or channel × purpose), answered in key order.
 */
function batchedRead<K extends { readonly part: string }, V>(fetch: (keys: readonly K[]) => Promise<V[]>, onGroupError: (err: unknown) => void): GroupBatcher<K, V> {
  return createGroupBatcher<K, V>({
    onGroupError,
    maxBatch: 256,
    async commit(keys) {
      const out: Outcome<V>[] = new Array<Outcome<V>>(keys.length);
      const parts = new Map<string, number[]>();
      keys.forEach((k, i) => {
        const idx = parts.get(k.part);
        if (idx === undefined) parts.set(k.part, [i]);
        else idx.push(i);
      });
      for (const idx of parts.values()) {
        const values = await fetch(idx.map((i) => keys[i] as K));
        idx.forEach((i, j) => (out[i] = { ok: true, value: values[j] as V }));
      }
      return out;
    },
  });
}

export function reminderPorts(deps: PortDeps): Pick<ProcessorPorts, 'consent' | 'recipient' | 'render'> {
  const now = deps.now ?? (() => new Date());
  const onGroupError = deps.onGroupError ?? (() => undefined);
  const consents = batchedRead<{ part: string; patientId: string; channel: Channel; purpose: ConsentPurpose }, ConsentNow | null>(async (keys) => {
    const [first] = keys;
    if (first === undefined) return [];
    const rows = await deps.ledger.currentForMany(keys.map((k) => k.patientId), first.channel, first.purpose);
    return rows.map((c) => (c === null ? null : { recordId: c.recordId, version: c.version, granted: c.state === 'granted' }));
  }, onGroupError);
  const recipients = batchedRead<{ part: Channel; patientId: string }, RecipientLookup>(async (keys) => {
    const [first] = keys;
    return first === undefined ? [] : deps.recipients(keys.map((k) => k.patientId), first.part);
  }, onGroupError);
  const templates = new Map<string, Promise<TemplateVersion | null>>();
  const template = (id: string, version: number): Promise<TemplateVersion | null> => {
    const key = `${id}/${version}`;
    let t = templates.get(key);
    if (t === undefined) {
      if (templates.size >= TEMPLATE_CACHE_MAX) templates.clear();
      t = deps.templates.get(id, version);
      templates.set(key, t);
      // A failed read is not remembered.
      t.catch(() => templates.delete(key));
    }
    return t;
  };

  return {
    consent(patientId, channel, purpose) {
      return consents.submit({ part: `${channel}/${purpose}`, patientId, channel, purpose: purpose as ConsentPurpose });
    },

    async recipient(patientId, channel) {
      const r = await recipients.submit({ part: channel, patientId });
      if (r === null) return null;
      if (r.erased) return 'erased';
      return r.address === null ? null : { address: r.address, timeZone: r.timeZone, names: r.names };
    },

    async render(input) {
      const t = await template(input.templateId, input.version);
      if (t === null) throw new Error(`template ${input.templateId} v${input.version} is missing`);
      try {
        const r = deps.templates.render(t, { timeWord: timeWordFor(input.appointmentStartsAt, now(), input.timeZone, deps.timeWords), patientNames: input.patientNames });
        return { ...(input.channel === 'email' ? { subject: r.subject ?? '' } : {}), text: r.text, templateHash: t.hash };
      } catch (err) {
        if (err instanceof TemplateRenderError) throw new PhiLintRefusal(err.reason);
        throw err;
      }
    },
  };
}
