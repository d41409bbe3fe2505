/**
 * Reminder campaigns: launch one, the list (newest first) with a progress bar per campaign that
 * moves live, and the chosen campaign's detail. One WebSocket feed serves the whole page; when it
 * drops, a banner says so and progress keeps coming by polling until it is back.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, formatDateTime, ProgressBar } from '../kit/ui.tsx';
import { CampaignDetail, statusLabel } from './campaign-detail.tsx';
import { CampaignForm } from './campaign-form.tsx';
import { FeedStatus, openCampaignFeed, type CampaignFeed } from './campaign-feed.ts';
import { byId, useClinics, useProviders } from './directory.ts';
import { isFinished, settled } from './reasons.ts';
import { useTemplates } from './templates.tsx';
import { CHANNEL_NAMES, PURPOSE_NAMES, type CampaignSummary, type Progress, type TemplateSummary } from './types.ts';
import { useProgress } from './use-progress.ts';

const PAGE = 20;

function useFeed(): { feed: CampaignFeed | undefined; status: FeedStatus; pollError: unknown } {
  const { call } = useConsole();
  const [feed, setFeed] = useState<CampaignFeed | undefined>(undefined);
  const [status, setStatus] = useState<FeedStatus>(FeedStatus.connecting);
  const [pollError, setPollError] = useState<unknown>(undefined);
  useEffect(() => {
    const f = openCampaignFeed({
      poll: (id) => call<Progress>(`/campaigns/${encodeURIComponent(id)}`),
      // The gateway closed the socket because the session ended: asking for it again lets the
      // console's own 401 handling show the signed-out screen.
      onSessionEnded: () => {
        call('/auth/session').then(
          () => setPollError(new Error('live updates stopped')),
          (err: unknown) => setPollError(err),
        );
      },
      onPollOutcome: setPollError,
    });
    const off = f.onStatus(setStatus);
    setFeed(f);
    setStatus(f.status);
    return () => {
      off();
      f.close();
    };
  }, []);
  return { feed, status, pollError };
}

function FeedBanner({ status, onRefresh }: { status: FeedStatus; onRefresh: () => void }): JSX.Element | null {
  if (status === FeedStatus.live) {
    return (
      <p class="muted" data-testid="feed-status" data-state={status}>
        <span class="badge ok">Live</span> Progress updates as reminders go out.
      </p>
    );
  }
  if (status === FeedStatus.connecting) {
    return (
      <p class="muted" data-testid="feed-status" data-state={status}>
        Connecting to live updates…
      </p>
    );
  }
  if (status === FeedStatus.reconnecting) {
    return (
      <p class="warn" role="alert" data-testid="feed-status" data-state={status}>
        Connection lost, reconnecting… Meanwhile progress is refreshed every few seconds, so nothing is missed.
      </p>
    );
  }
  if (status === FeedStatus.paused) {
    return (
      <div class="warn row" role="alert" data-testid="feed-status" data-state={status}>
        <span>Connection lost. Automatic refresh has stopped so an unattended console can still sign out on time.</span>
        <Button testId="feed-refresh" onClick={onRefresh}>
          Refresh progress now
        </Button>
      </div>
    );
  }
  return null;
}

function CampaignRow(props: { campaign: CampaignSummary; template: TemplateSummary | undefined; feed: CampaignFeed | undefined; selected: boolean; onOpen: () => void }): JSX.Element {
  const c = props.campaign;
  const initial = useMemo<Progress>(() => ({ campaignId: c.id, status: c.status, total: c.total, states: c.states, reasons: {} }), [c]);
  // Finished campaigns need no live updates.
  const progress = useProgress(isFinished(c) ? undefined : props.feed, c.id, initial) ?? initial;
  return (
    <tr data-testid="campaign-row" data-campaign={c.id} aria-current={props.selected ? 'true' : undefined}>
      <td>{formatDateTime(c.createdAt)}</td>
      <td>
        {CHANNEL_NAMES[c.channel]}
        <br />
        <small class="muted">{PURPOSE_NAMES[c.purpose]}</small>
      </td>
      <td>
        {props.template?.name ?? 'Unknown template'} <small class="muted">v{c.templateVersion}</small>
      </td>
      <td>
        <span class={`badge ${progress.status === 'cancelled' ? 'bad' : isFinished(progress) ? 'ok' : 'warn'}`}>{statusLabel(progress)}</span>
      </td>
      <td class="progress-cell">
        <ProgressBar testId={`row-progress-${c.id}`} label="Reminders processed" value={settled(progress.states)} max={progress.total} />
      </td>
      <td>
        <Button testId={`open-campaign-${c.id}`} label="Open campaign" onClick={props.onOpen}>
          Open
        </Button>
      </td>
    </tr>
  );
}

export function CampaignsView(): JSX.Element {
  const { call } = useConsole();
  const templates = useTemplates();
  const providers = useProviders();
  const clinics = useClinics();
  const { feed, status, pollError } = useFeed();
  const [campaigns, setCampaigns] = useState<readonly CampaignSummary[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [listError, setListError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [selected, setSelected] = useState<CampaignSummary | undefined>(undefined);
  const templateById = byId(templates.data);

  const load = async (before?: string): Promise<void> => {
    setLoading(true);
    try {
      const q = before === undefined ? `?limit=${PAGE}` : `?limit=${PAGE}&before=${encodeURIComponent(before)}`;
      const page = await call<{ campaigns: CampaignSummary[]; next: string | null }>(`/campaigns${q}`);
      setCampaigns((old) => (before === undefined ? page.campaigns : [...old, ...page.campaigns]));
      setNext(page.next);
      // The open campaign stays open even when a reload no longer lists it (an older page).
      setSelected((sel) => (sel === undefined ? sel : (page.campaigns.find((c) => c.id === sel.id) ?? sel)));
      setListError(undefined);
    } catch (err) {
      setListError(err);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  return (
    <>
      <section class="card" aria-labelledby="new-campaign-title">
        <h2 id="new-campaign-title">New campaign</h2>
        <ErrorNote error={templates.error ?? providers.error ?? clinics.error} />
        <CampaignForm
          templates={templates.data ?? []}
          providers={providers.data ?? []}
          clinics={clinics.data ?? []}
          onCreated={(c) => {
            setCampaigns((old) => [c, ...old.filter((o) => o.id !== c.id)]);
            setSelected(c);
          }}
          onSavedNotQueued={() => void load()}
        />
      </section>
      <section class="card" aria-labelledby="campaigns-title">
        <h2 id="campaigns-title">Campaigns</h2>
        <FeedBanner status={status} onRefresh={() => feed?.refresh()} />
        <ErrorNote error={listError ?? pollError} />
        <div class="table-wrap">
          <table data-testid="campaigns-table">
            <caption>Newest first{loading ? ' (loading…)' : ''}</caption>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Channel</th>
                <th scope="col">Template</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {campaigns.length === 0 ? (
                <tr>
                  <td colSpan={6} class="muted">
                    {loading ? 'Loading…' : 'No campaigns yet.'}
                  </td>
                </tr>
              ) : (
                campaigns.map((c) => <CampaignRow key={c.id} campaign={c} template={templateById.get(c.templateId)} feed={feed} selected={c.id === selected?.id} onOpen={() => setSelected(c)} />)
              )}
            </tbody>
          </table>
        </div>
        <div class="row">
          <Button testId="campaigns-reload" onClick={() => load()}>
            Reload
          </Button>
          {next === null ? null : (
            <Button testId="campaigns-older" onClick={() => load(next)}>
              Show older campaigns
            </Button>
          )}
        </div>
      </section>
      {selected === undefined ? null : <CampaignDetail key={selected.id} summary={selected} template={templateById.get(selected.templateId)} feed={feed} onChanged={() => void load()} />}
    </>
  );
}
