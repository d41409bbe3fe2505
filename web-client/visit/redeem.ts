/**
 * Turns the visit link into a visit session. The token arrives in the URL fragment (never sent
 * to any server in a URL); it is read once and dropped from the address bar at once, then
 * exchanged for a session cookie. Each refusal becomes a plain message saying what to do.
 */
import { api, ApiError } from '../shared/api.ts';
import { formatTime } from '../shared/dom.ts';

/** Survives a reload of the page (the fragment is gone by then); an id, not PHI. */
const STORED_APPOINTMENT = 'visit.appointmentId';

/** Read the token from the fragment and remove it from the URL and the history entry. */
export function takeToken(): string | undefined {
  const token = location.hash.replace(/^#/, '').trim();
  if (location.hash !== '') history.replaceState(null, '', location.pathname + location.search);
  return token === '' ? undefined : token;
}

export async function redeem(token: string): Promise<string> {
  const r = await api<{ appointmentId: string }>('/visit-links/redeem', { body: { token, mode: 'cookie' } });
  sessionStorage.setItem(STORED_APPOINTMENT, r.appointmentId);
  return r.appointmentId;
}

/** After a reload: the appointment of the visit session this tab already holds, if still valid. */
export async function resume(): Promise<string | undefined> {
  const id = sessionStorage.getItem(STORED_APPOINTMENT);
  if (id === null) return undefined;
  try {
    const s = await api<{ kind: string; scope: string | null }>('/auth/session');
    if (s.kind === 'patient' && s.scope === 'visit') return id;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) throw err;
  }
  sessionStorage.removeItem(STORED_APPOINTMENT);
  return undefined;
}

const NEW_LINK = 'Please ask the clinic for a new link.';

export function redeemMessage(err: unknown): string {
  if (!(err instanceof ApiError)) return 'We could not open your visit. Please try again, or contact the clinic.';
  switch (err.code) {
    case 'link_used':
      return `This visit link has already been used. If you were disconnected, use the same browser tab, or ${NEW_LINK.toLowerCase()}`;
    case 'link_expired':
      return `This visit link has expired. ${NEW_LINK}`;
    case 'link_revoked':
      return `This visit link is no longer valid. ${NEW_LINK}`;
    case 'link_not_yet_valid': {
      const opensAt = err.extra['opensAt'];
      const when = typeof opensAt === 'string' ? ` at ${formatTime(opensAt)}` : ' shortly before your visit';
      return `Your visit is not open yet. Open the link from your message again${when}.`;
    }
    case 'appointment_cancelled':
      return 'This visit was cancelled. Please contact the clinic.';
    case 'too_many_attempts':
    case 'rate_limited':
      return 'Too many attempts. Please wait a few minutes, then open the link again.';
    case 'network_error':
      return 'You appear to be offline. Check your connection and open the link again.';
    default:
      // link_invalid, a 404 from anything else, or a malformed token.
      if (err.code === 'link_invalid' || err.status === 404 || err.status === 400 || err.status === 422) {
        return `This visit link is not valid. Check that you opened the whole link from your message, or ${NEW_LINK.toLowerCase()}`;
      }
      return 'We could not open your visit. Please try again, or contact the clinic.';
  }
}
