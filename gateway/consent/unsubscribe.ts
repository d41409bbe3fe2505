/**
 * One-click e-mail unsubscribe (RFC 8058). Reminder e-mails carry
 * `List-Unsubscribe: <https://…/unsubscribe/TOKEN>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`;
 * the mail client POSTs `List-Unsubscribe=One-Click` to that URL, with no session and no CSRF token:
 * the signed, expiring, single-purpose token is the whole authorization. A GET (a person following
 * the link, or a scanner prefetching it) only shows a confirmation page with the same POST as a
 * button, so prefetching never unsubscribes anyone. The pages carry no PHI and load nothing.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AuditActor } from '../../core/audit/index.ts';
import {
  ConsentChannel,
  ConsentMethod,
  ConsentState,
  MAX_TOKEN_LENGTH,
  unsubscribeEvidence,
  verifyUnsubscribeToken,
  type ConsentLedger,
  type DerivedKey,
  type VerifiedUnsubscribe,
} from '../../core/consent/index.ts';
import type { AppEnv } from '../app-env.ts';
import { auditContext } from '../auth/request-auth.ts';
import { escapeHtml } from '../openapi/docs-page.ts';
import { commonErrors, errorResponse } from '../openapi/schemas.ts';
import type { RouteModule } from '../route-module.ts';

// The token signer lives in core (the delivery worker signs); re-exported for gateway callers.
export { signUnsubscribeToken, unsubscribeKeys, verifyUnsubscribeToken, type UnsubscribeClaims } from '../../core/consent/index.ts';

export interface UnsubscribeDeps {
  readonly ledger: ConsentLedger;
  /** From `unsubscribeKeys(keyring)`: the first signs, every one verifies. */
  readonly keys: readonly DerivedKey[];
  /** Shown on the pages. Not PHI. */
  readonly clinicName: string;
  /** For tests. */
  readonly now?: () => Date;
}

/** The pages' CSP: nothing loads; the one form may post back to us. */
export const UNSUBSCRIBE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
export const UNSUBSCRIBE_ACTOR = 'unsubscribe-link';

const PURPOSE_WORDS: Readonly<Record<VerifiedUnsubscribe['purpose'], string>> = {
  appointment_reminders: 'appointment reminder',
  general_outreach: 'news and outreach',
};

const params = z.object({ token: z.string().min(1).max(MAX_TOKEN_LENGTH).openapi({ description: 'The signed token from the List-Unsubscribe link.' }) });
const html = { 'text/html': { schema: z.string() } } as const;

const page = createRoute({
  method: 'get',
  path: '/unsubscribe/{token}',
  tags: ['consent'],
  summary: 'Confirmation page for an e-mail unsubscribe link (changes nothing by itself)',
  request: { params },
  responses: { 200: { description: 'A page with the unsubscribe button', content: html }, 404: { description: 'The link is not valid or has expired', content: html }, ...commonErrors },
});

const oneClick = createRoute({
  method: 'post',
  path: '/unsubscribe/{token}',
  tags: ['consent'],
  summary: 'One-click unsubscribe (RFC 8058): revokes e-mail consent for the link’s purpose',
  description: 'No session and no CSRF token: the signed, expiring token authorizes exactly this one change. Repeating it changes nothing.',
  request: {
    params,
    body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: z.object({ 'List-Unsubscribe': z.literal('One-Click') }) } } },
  },
  responses: {
    200: { description: 'Unsubscribed (or already were)', content: html },
    400: errorResponse('`validation_failed`: the body is not `List-Unsubscribe=One-Click`'),
    404: { description: 'The link is not valid or has expired', content: html },
    409: errorResponse('`conflict`: the patient record was erased'),
    ...commonErrors,
  },
});

function render(c: Context<AppEnv>, status: 200 | 404, title: string, body: string): Response {
  const doc = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
  return c.html(doc, status, { 'Content-Security-Policy': UNSUBSCRIBE_CSP });
}

export function unsubscribeRoutes(deps: UnsubscribeDeps): RouteModule {
  const { ledger, keys } = deps;
  const clinic = escapeHtml(deps.clinicName);
  const now = deps.now ?? (() => new Date());
  const invalid = (c: Context<AppEnv>) => render(c, 404, 'Link not valid', `<p>This unsubscribe link is not valid or has expired. Please contact ${clinic}.</p>`);

  return (app) => {
    app.openapi(page, (c) => {
      const claims = verifyUnsubscribeToken(c.req.valid('param').token, keys, now());
      if (claims === null) return invalid(c);
      return render(
        c,
        200,
        'Unsubscribe',
        `<p>Stop ${PURPOSE_WORDS[claims.purpose]} e-mails from ${clinic}?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
      );
    });

    app.openapi(oneClick, async (c) => {
      const claims = verifyUnsubscribeToken(c.req.valid('param').token, keys, now());
      if (claims === null) return invalid(c);
      const actor: AuditActor = { ...auditContext(c), actorType: 'system', actorId: UNSUBSCRIBE_ACTOR };
      await ledger.record(
        { patientId: claims.patientId, channel: ConsentChannel.email, purpose: claims.purpose, state: ConsentState.revoked, method: ConsentMethod.unsubscribeLink, evidenceRef: unsubscribeEvidence(claims) },
        actor,
        { dedupe: 'state' },
      );
      return render(c, 200, 'Unsubscribed', `<p>You will receive no more ${PURPOSE_WORDS[claims.purpose]} e-mails from ${clinic}.</p>`);
    });
  };
}
