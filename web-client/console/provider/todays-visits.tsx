/**
 * Today's visits for the signed-in provider: time, patient (the clinical view the provider's
 * care-team relationship allows; each read is an audited patient.view), status, and two actions:
 * open the visit page (/provider/, which holds the waiting room with Admit / Deny and the call)
 * for this visit, and make a single-use patient link to send out of band (shown once).
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, Table, useLoad } from '../kit/ui.tsx';

interface Appointment {
  readonly id: string;
  readonly patientId: string;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly status: string;
}

interface PatientName {
  readonly givenName: string;
  readonly familyName: string;
}

interface Link {
  readonly url: string;
  readonly validFrom: string;
  readonly validUntil: string;
}

const LINK_ERRORS: Readonly<Record<string, string>> = {
  appointment_cancelled: 'This visit was cancelled, so no link can be made for it.',
  appointment_ended: 'This visit is over. Book a new appointment for another visit.',
};

const time = (iso: string): string => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export function TodaysVisits(): JSX.Element {
  const { call } = useConsole();
  const [links, setLinks] = useState<Readonly<Record<string, Link>>>({});
  const [linkError, setLinkError] = useState<unknown>(undefined);
  const visits = useLoad(async () => {
    const from = new Date();
    from.setHours(0, 0, 0, 0);
    const to = new Date(from.getTime() + 24 * 3_600_000);
    const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    const { appointments } = await call<{ appointments: Appointment[] }>(`/appointments?${q.toString()}`);
    const sorted = appointments.slice().sort((a, b) => a.startsAt.localeCompare(b.startsAt));
    // Names for the provider's own patients; a record that cannot be read shows as "Patient".
    const names = new Map<string, string>();
    await Promise.all(
      [...new Set(sorted.map((a) => a.patientId))].map(async (id) => {
        const p = await call<PatientName>(`/patients/${id}`).catch(() => undefined);
        if (p !== undefined) names.set(id, `${p.givenName} ${p.familyName}`);
      }),
    );
    return { sorted, names };
  }, []);

  const makeLink = async (id: string): Promise<void> => {
    try {
      const link = await call<Link>(`/appointments/${id}/visit-links`, { method: 'POST' });
      setLinks((l) => ({ ...l, [id]: link }));
      setLinkError(undefined);
    } catch (err) {
      setLinkError(err);
    }
  };

  const rows = (visits.data?.sorted ?? []).map((a) => [
    `${time(a.startsAt)}–${time(a.endsAt)}`,
    visits.data?.names.get(a.patientId) ?? 'Patient',
    <span class={`badge ${a.status === 'cancelled' ? 'bad' : ''}`}>{a.status}</span>,
    a.status === 'cancelled' ? (
      <span class="muted">Cancelled</span>
    ) : (
      <div class="row">
        <a class="button primary" href={`/provider/#${a.id}`} data-testid={`join-${a.id}`}>
          Open waiting room / join
        </a>
        <Button testId={`link-${a.id}`} onClick={() => makeLink(a.id)}>
          Make patient link
        </Button>
        {links[a.id] === undefined ? null : <LinkBox link={links[a.id] as Link} id={a.id} />}
      </div>
    ),
  ]);

  return (
    <section class="card" aria-labelledby="visits-title">
      <div class="row">
        <h2 id="visits-title">Today’s visits</h2>
        <Button testId="refresh-visits" onClick={visits.reload}>
          Refresh
        </Button>
      </div>
      <ErrorNote error={visits.error} />
      <ErrorNote error={linkError} own={LINK_ERRORS} />
      {visits.loading && visits.data === undefined ? <p class="muted">Loading…</p> : null}
      <Table caption="Your visits today" head={['Time', 'Patient', 'Status', 'Actions']} rows={rows} empty="No visits today." testId="visit-table" rowTestId="visit" />
    </section>
  );
}

function LinkBox({ link, id }: { link: Link; id: string }): JSX.Element {
  const [copied, setCopied] = useState(false);
  return (
    <div class="link-box" data-testid={`link-box-${id}`}>
      <label for={`link-${id}-url`}>Send this link to the patient (works once, {time(link.validFrom)}–{time(link.validUntil)}):</label>
      <input id={`link-${id}-url`} readOnly value={link.url} data-testid={`link-url-${id}`} />
      <button
        type="button"
        onClick={() => {
          navigator.clipboard
            .writeText(link.url)
            .then(() => setCopied(true))
            .catch(() => setCopied(false));
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}
