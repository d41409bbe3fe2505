/**
 * What the reminder processor needs from the rest of the system, built from the real pieces:
 * the consent ledger (current state at send time), the patient store (decrypted address and time
 * zone, read by the `reminders` system actor), the versioned templates (rendered and PHI-linted
 * with the patient's own names), and the channels. Email reminders get their RFC 8058 one-click
 * unsubscribe link appended after the lint (it is ours, on the portal origin, and carries no PHI).
 */
import type { Channel } from '../../core/campaigns/store.ts';
import type { ConsentLedger } from '../../core/consent/index.ts';
import type { PatientStore } from '../../core/patients/index.ts';
import { TemplateRenderError } from '../../core/reminders/render.ts';
import { timeWordFor } from '../../core/reminders/template-text.ts';
import type { TemplateStore } from '../../core/reminders/templates.ts';
import type { ProcessorPorts } from './processor.ts';

export interface PortDeps {
  readonly ledger: Pick<ConsentLedger, 'currentFor'>;
  readonly patients: Pick<PatientStore, 'get'>;
  readonly templates: Pick<TemplateStore, 'get' | 'render'>;
  readonly timeWords: Parameters<typeof timeWordFor>[3];
  readonly now?: () => Date;
}

/** A render refusal the processor records as a `phi_lint` skip. */
class PhiLintRefusal extends Error {
  readonly phiLint = true;
  constructor(reason: string) {
    super(`reminder text refused: ${reason}`);
    this.name = 'PhiLintRefusal';
  }
}

export function reminderPorts(deps: PortDeps): Pick<ProcessorPorts, 'consent' | 'contact' | 'render'> {
  const now = deps.now ?? (() => new Date());
  return {
    async consent(patientId, channel, purpose) {
      const c = await deps.ledger.currentFor(patientId, channel, purpose as Parameters<ConsentLedger['currentFor']>[2]);
      return c === null ? null : { recordId: c.recordId, version: c.version, granted: c.state === 'granted' };
    },

    async contact(patientId, channel: Channel) {
      const p = await deps.patients.get(patientId);
      if (p === null) return null;
      if (p.erased) return 'erased';
      const address = channel === 'sms' ? p.phone : p.email;
      return address === null ? null : { address, timeZone: p.timeZone };
    },

    async render(input) {
      const t = await deps.templates.get(input.templateId, input.version);
      if (t === null) throw new Error(`template ${input.templateId} v${input.version} is missing`);
      const p = await deps.patients.get(input.patientId);
      const names = p !== null && !p.erased ? [p.givenName, p.familyName] : [];
      try {
        const r = deps.templates.render(t, { timeWord: timeWordFor(input.appointmentStartsAt, now(), input.timeZone, deps.timeWords), patientNames: names });
        return { ...(input.channel === 'email' ? { subject: r.subject ?? '' } : {}), text: r.text, templateHash: t.hash };
      } catch (err) {
        if (err instanceof TemplateRenderError) throw new PhiLintRefusal(err.reason);
        throw err;
      }
    },
  };
}
