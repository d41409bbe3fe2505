/**
 * A campaign's delivery report: counts by state and, for skipped and failed reminders, by reason
 * in plain words (a consent revoked while the campaign ran is its own reason), and the CSV export
 * of every delivery (ids, states and reasons only), built in the page from the report API.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, Table, saveBlob } from '../kit/ui.tsx';
import { reasonName, STATE_NAMES } from './reasons.ts';
import { allDeliveries, reportCsv } from './report-csv.ts';
import { DELIVERY_STATES, type Progress } from './types.ts';

export function DeliveryReport({ progress }: { progress: Progress }): JSX.Element {
  const { call } = useConsole();
  const [error, setError] = useState<unknown>(undefined);
  const reasons = Object.entries(progress.reasons).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

  const exportCsv = async (): Promise<void> => {
    setError(undefined);
    try {
      const rows = await allDeliveries(call, progress.campaignId);
      saveBlob(new Blob([reportCsv(rows)], { type: 'text/csv;charset=utf-8' }), `campaign-${progress.campaignId}-deliveries.csv`);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div class="report" data-testid="delivery-report">
      <div class="grid2">
        <Table
          testId="report-states"
          caption="Reminders by state"
          head={['State', 'Reminders']}
          rows={DELIVERY_STATES.map((s) => [STATE_NAMES[s], <span key="n" data-testid={`state-${s}`}>{progress.states[s]}</span>])}
          empty="No reminders."
        />
        <Table
          testId="report-reasons"
          caption="Skipped or failed, by reason"
          head={['Reason', 'Reminders']}
          rows={reasons.map(([code, n]) => [
            <span key="r" data-testid={`reason-name-${code}`}>
              {reasonName(code)}
            </span>,
            <span key="n" data-testid={`reason-${code}`}>
              {n}
            </span>,
          ])}
          empty="Nothing skipped or failed."
        />
      </div>
      <ErrorNote error={error} />
      <div class="row">
        <Button testId="export-csv" onClick={exportCsv}>
          Download report (CSV)
        </Button>
        <span class="muted">One row per reminder: ids, state and reason only, no names or contact details.</span>
      </div>
    </div>
  );
}
