/**
 * Reminder templates: the saved ones (name, channel, latest version) and the editor for a new
 * template or a new version of a saved one. Versions are immutable on the gateway; a campaign
 * names the version it sends.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../kit/session.ts';
import { Button, ErrorNote, formatDateTime, Table, useLoad } from '../kit/ui.tsx';
import { NEW_DRAFT, TemplateEditor, type Draft } from './template-editor.tsx';
import { CHANNEL_NAMES, type TemplateSummary, type TemplateVersion } from './types.ts';

export function useTemplates() {
  const { call } = useConsole();
  return useLoad(async () => (await call<{ templates: TemplateSummary[] }>('/templates')).templates, []);
}

export function TemplatesView(): JSX.Element {
  const { call } = useConsole();
  const templates = useTemplates();
  const [editing, setEditing] = useState<{ key: number; draft: Draft } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  const open = async (t: TemplateSummary): Promise<void> => {
    setError(undefined);
    try {
      const v = await call<TemplateVersion>(`/templates/${encodeURIComponent(t.id)}`);
      setEditing({ key: Date.now(), draft: { id: v.id, name: v.name, channel: v.channel, subject: v.subject ?? '', body: v.body } });
    } catch (err) {
      setError(err);
    }
  };

  const rows = (templates.data ?? []).map((t) => [
    t.name,
    CHANNEL_NAMES[t.channel],
    `Version ${t.latestVersion}`,
    formatDateTime(t.updatedAt),
    <Button key="edit" testId={`edit-template-${t.name}`} label={`Edit ${t.name}`} onClick={() => open(t)}>
      Edit
    </Button>,
  ]);

  return (
    <>
      <section class="card" aria-labelledby="templates-title">
        <h2 id="templates-title">Reminder templates</h2>
        <ErrorNote error={templates.error ?? error} />
        <Table testId="templates-table" rowTestId="template-row" caption={`Saved templates${templates.loading ? ' (loading…)' : ''}`} head={['Name', 'Channel', 'Latest', 'Saved', 'Actions']} rows={rows} empty="No templates yet." />
        <div class="row">
          <Button testId="new-template" kind="primary" onClick={() => setEditing({ key: Date.now(), draft: NEW_DRAFT })}>
            New template
          </Button>
        </div>
      </section>
      {editing === undefined ? null : <TemplateEditor key={editing.key} initial={editing.draft} onSaved={() => templates.reload()} onClose={() => setEditing(undefined)} />}
    </>
  );
}
