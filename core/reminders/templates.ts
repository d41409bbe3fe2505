/**
 * Versioned reminder templates. Saving lints the content and appends a new immutable version (the
 * database refuses updates and deletes of versions), so a campaign pinned to (id, version) sends
 * exactly the approved text, and every delivery can record the version's content hash. A save
 * whose content equals the latest version's returns that version instead of adding a duplicate.
 * Audited `template.save` with ids, version and hash only: the text stays out of the chain.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AuditAction, AuditOutcome, actorFields, type AuditActor, type AuditLog } from '../audit/index.ts';
import type { Db, Sql } from '../db/types.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { isUuid } from '../ids.ts';
import type { ReminderText, RenderVars, RenderedMessage, TemplateContent } from './render.ts';
import { Channel, canonicalText } from './template-text.ts';

export interface TemplateInput {
  readonly name: string;
  readonly channel: Channel;
  /** Required for email, absent or null for SMS. */
  readonly subject?: string | null;
  readonly body: string;
}

export interface TemplateVersion extends TemplateContent {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  /** SHA-256 hex of the canonical content; see `contentHash`. */
  readonly hash: string;
  readonly createdBy: string | null;
  readonly createdAt: Date;
}

export interface TemplateSummary {
  readonly id: string;
  readonly name: string;
  readonly channel: Channel;
  readonly latestVersion: number;
  readonly updatedAt: Date;
}

export const TemplateErrorCode = {
  /** 422: the content failed a check; `fields` name each rule and position. */
  rejected: 'template_rejected',
  /** 409: the name belongs to a template of the other channel. */
  channelMismatch: 'template_channel_mismatch',
} as const;
export type TemplateErrorCode = (typeof TemplateErrorCode)[keyof typeof TemplateErrorCode];

export const TEMPLATE_ERROR_DOCS: Readonly<Record<TemplateErrorCode, string>> = {
  template_rejected: '422: the reminder template failed a check (PHI lint, placeholders, SMS length); `fields` name each rule and its line:column.',
  template_channel_mismatch: '409: a template with this name already exists for the other channel; choose another name.',
};

export const TEMPLATE_LIMITS = { maxBody: 2000, maxSubject: 200, maxList: 500 } as const;
const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** SHA-256 over a fixed-order JSON of the canonical content (format 1). The name is not content. */
export function contentHash(c: TemplateContent): string {
  return createHash('sha256').update(JSON.stringify({ v: 1, channel: c.channel, subject: c.subject, body: c.body })).digest('hex');
}

export interface TemplateStore {
  /** Checks (400 shape, 422 content) and appends a version; `created` is false when the latest version already had this content. */
  save(input: TemplateInput, ctx: AuditActor): Promise<{ template: TemplateVersion; created: boolean }>;
  /** The given version, or the latest; null when unknown. */
  get(id: string, version?: number): Promise<TemplateVersion | null>;
  list(): Promise<TemplateSummary[]>;
  latest(name: string): Promise<TemplateVersion | null>;
  /** Does this version exist for this channel? (campaign creation) */
  exists(id: string, version: number, channel: Channel): Promise<boolean>;
  /** Fills and lints; throws TemplateRenderError (reason `phi_lint`, `sms_too_long`, `template_value_missing`). */
  render(template: TemplateContent, vars: RenderVars): RenderedMessage;
}

interface VersionRow {
  id: string;
  name: string;
  channel: Channel;
  version: number;
  subject: string | null;
  body: string;
  content_hash: string;
  created_by: string | null;
  created_at: Date;
}

const SELECT = `SELECT t.id, t.name, t.channel, v.version, v.subject, v.body, v.content_hash, v.created_by, v.created_at
  FROM reminder_templates t JOIN reminder_template_versions v ON v.template_id = t.id`;

const toVersion = (r: VersionRow): TemplateVersion => ({
  id: r.id,
  name: r.name,
  channel: r.channel,
  version: r.version,
  subject: r.subject,
  body: r.body,
  hash: r.content_hash,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

function invalid(path: string, message: string): AppError {
  return new AppError(400, ErrorCode.validation, 'template input failed validation', { fields: [{ path, message }] });
}

/** Shape checks and canonical form; content checks are ReminderText's. */
function canonicalInput(input: TemplateInput): { name: string; content: TemplateContent } {
  if (!NAME_RE.test(input.name)) throw invalid('name', 'Lower-case letters, digits, - and _, at most 64');
  if (input.channel !== Channel.sms && input.channel !== Channel.email) throw invalid('channel', 'Expected sms or email');
  const body = canonicalText(input.body);
  if (body.trim() === '' || body.length > TEMPLATE_LIMITS.maxBody) throw invalid('body', `1–${TEMPLATE_LIMITS.maxBody} characters`);
  const rawSubject = input.subject ?? null;
  if (input.channel === Channel.sms && rawSubject !== null) throw invalid('subject', 'SMS templates have no subject');
  if (input.channel === Channel.email && rawSubject === null) throw invalid('subject', 'Required for e-mail templates');
  const subject = rawSubject === null ? null : canonicalText(rawSubject);
  if (subject !== null && (subject.trim() === '' || subject.length > TEMPLATE_LIMITS.maxSubject)) throw invalid('subject', `1–${TEMPLATE_LIMITS.maxSubject} characters`);
  return { name: input.name, content: { channel: input.channel, subject, body } };
}

export function createTemplateStore(deps: { readonly db: Db; readonly audit: AuditLog; readonly text: ReminderText }): TemplateStore {
  const { db, audit, text } = deps;

  const latestById = async (sql: Sql, id: string): Promise<TemplateVersion | null> => {
    const [r] = await sql.query<VersionRow>(`${SELECT} WHERE t.id = $1 ORDER BY v.version DESC LIMIT 1`, [id]);
    return r ? toVersion(r) : null;
  };

  const get = async (id: string, version?: number): Promise<TemplateVersion | null> => {
    if (!isUuid(id)) return null;
    if (version === undefined) return latestById(db, id);
    if (!Number.isSafeInteger(version) || version < 1) return null;
    const [r] = await db.query<VersionRow>(`${SELECT} WHERE t.id = $1 AND v.version = $2`, [id, version]);
    return r ? toVersion(r) : null;
  };

  return {
    async save(input, ctx) {
      const { name, content } = canonicalInput(input);
      const problems = text.check(content);
      if (problems.length > 0) {
        throw new AppError(422, TemplateErrorCode.rejected, `The template was refused: ${problems.length} problem(s)`, {
          fields: problems.map((p) => ({ path: `body.${p.path}`, message: p.message })),
        });
      }
      const hash = contentHash(content);
      return db.transaction(async (tx) => {
        await tx.query('INSERT INTO reminder_templates (id, name, channel) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [randomUUID(), name, content.channel]);
        // Row lock: concurrent saves of one name take version numbers one after the other.
        const [t] = await tx.query<{ id: string; channel: Channel }>('SELECT id, channel FROM reminder_templates WHERE name = $1 FOR UPDATE', [name]);
        if (!t) throw new Error('template row vanished inside its transaction');
        if (t.channel !== content.channel) throw new AppError(409, TemplateErrorCode.channelMismatch, 'A template with this name exists for the other channel');
        const current = await latestById(tx, t.id);
        if (current !== null && current.hash === hash) return { template: current, created: false };
        const version = (current?.version ?? 0) + 1;
        const createdBy = ctx.actorType === 'user' && isUuid(ctx.actorId ?? '') ? ctx.actorId : null;
        await tx.query(
          'INSERT INTO reminder_template_versions (template_id, version, subject, body, content_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6)',
          [t.id, version, content.subject, content.body, hash, createdBy],
        );
        await audit.append(
          {
            ...actorFields(ctx),
            action: AuditAction.templateSave,
            resourceType: 'template',
            resourceId: t.id,
            outcome: AuditOutcome.success,
            details: { templateId: t.id, version, hash },
          },
          tx,
        );
        const saved = await latestById(tx, t.id);
        if (saved === null) throw new Error('saved template version not found');
        return { template: saved, created: true };
      });
    },

    get,

    async list() {
      const rows = await db.query<{ id: string; name: string; channel: Channel; latest_version: number; updated_at: Date }>(
        `SELECT t.id, t.name, t.channel, max(v.version) AS latest_version, max(v.created_at) AS updated_at
           FROM reminder_templates t JOIN reminder_template_versions v ON v.template_id = t.id
          GROUP BY t.id, t.name, t.channel ORDER BY t.name LIMIT ${TEMPLATE_LIMITS.maxList}`,
      );
      return rows.map((r) => ({ id: r.id, name: r.name, channel: r.channel, latestVersion: r.latest_version, updatedAt: r.updated_at }));
    },

    async latest(name) {
      if (!NAME_RE.test(name)) return null;
      const [r] = await db.query<VersionRow>(`${SELECT} WHERE t.name = $1 ORDER BY v.version DESC LIMIT 1`, [name]);
      return r ? toVersion(r) : null;
    },

    async exists(id, version, channel) {
      const t = await get(id, version);
      return t !== null && t.channel === channel;
    },

    render: (template, vars) => text.render({ channel: template.channel, subject: template.subject, body: template.body }, vars),
  };
}
