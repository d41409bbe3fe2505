/**
 * The shape of a request's authentication, kept free of imports so the Hono context type
 * (app-env.ts) can name it without a cycle.
 */
import type { Principal } from '../../core/identity/principal.ts';

export const CredentialVia = { cookie: 'cookie', bearer: 'bearer' } as const;
export type CredentialVia = (typeof CredentialVia)[keyof typeof CredentialVia];

export interface RequestAuth {
  readonly principal: Principal;
  readonly sessionId: string;
  readonly via: CredentialVia;
  /** Set by the access check when a break-glass grant is what allowed the request. */
  breakGlassId: string | null;
}
