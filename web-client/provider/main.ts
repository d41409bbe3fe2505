/**
 * The provider's visit console (/provider/): sign in, today's visits, then a visit as host —
 * the waiting room with Admit / Deny, the admitted list, and the call itself. The staff console
 * (/console/) links here with the visit's id in the fragment to open that visit directly.
 */
import '../shared/visit.css';
import { api } from '../shared/api.ts';
import { bindCallScreen } from '../shared/call-screen.ts';
import { createCall, type Call, type CallState } from '../shared/call.ts';
import { byId, el, formatTime, showError, showScreen, showState } from '../shared/dom.ts';
import { openLocalMedia, type LocalMedia } from '../shared/local-media.ts';
import { connectSignaling, type Signaling } from '../shared/signaling.ts';
import { renderParticipants } from './participants-panel.ts';
import { currentSession, signIn, signOut } from './sign-in.ts';

interface Appointment {
  readonly id: string;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly status: string;
}

const message = (): HTMLElement => byId('message', HTMLElement);

async function start(): Promise<void> {
  const session = (await currentSession()) ?? (await signIn());
  const signOutButton = byId('sign-out', HTMLButtonElement);
  signOutButton.hidden = false;
  signOutButton.addEventListener('click', () => {
    signOut(session.csrfToken)
      .then(() => location.reload())
      .catch((err: unknown) => {
        console.warn('sign-out failed', err);
        showError('Sign-out failed. Close the browser to end the session.');
      });
  });
  // Opened from the console for one visit (`/provider/#<appointment id>`): go straight to its
  // waiting room, and take the id out of the address bar.
  const wanted = location.hash.slice(1);
  if (/^[0-9a-f-]{36}$/i.test(wanted)) {
    history.replaceState(null, '', location.pathname);
    await showVisits();
    await joinVisit(wanted);
    return;
  }
  await showVisits();
}

async function showVisits(): Promise<void> {
  showState('visits');
  showScreen('screen-visits');
  message().textContent = '';
  const from = new Date();
  from.setHours(0, 0, 0, 0);
  const to = new Date(from.getTime() + 24 * 3_600_000);
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
  const { appointments } = await api<{ appointments: Appointment[] }>(`/appointments?${q.toString()}`);
  const list = byId('visit-list', HTMLUListElement);
  const open = appointments.filter((a) => a.status !== 'cancelled').sort((a, b) => a.startsAt.localeCompare(b.startsAt));
  list.replaceChildren(
    ...open.map((a) => {
      const button = el('button', { text: 'Open lobby / join', testId: `open-${a.id}`, label: `Open lobby for the ${formatTime(a.startsAt)} visit` });
      button.type = 'button';
      button.className = 'primary';
      button.addEventListener('click', () => {
        joinVisit(a.id).catch((err: unknown) => {
          console.error('could not open the visit', err);
          showError('Could not open the visit. Check your camera and microphone permissions, then try again.');
        });
      });
      return el('li', { testId: 'visit' }, el('span', { text: `${formatTime(a.startsAt)}–${formatTime(a.endsAt)} · Patient visit` }), button);
    }),
  );
  if (open.length === 0) list.replaceChildren(el('li', { text: 'No visits today.', className: 'muted' }));
}

let local: LocalMedia | undefined;
let signaling: Signaling | undefined;
let screen: ReturnType<typeof bindCallScreen> | undefined;
let call: Call | undefined;

function callScreen(media: LocalMedia): ReturnType<typeof bindCallScreen> {
  const lobbyList = byId('lobby-list', HTMLUListElement);
  const admittedList = byId('admitted-list', HTMLUListElement);
  const back = byId('back', HTMLButtonElement);
  back.addEventListener('click', () => {
    call?.close();
    call = undefined;
    showVisits().catch((err: unknown) => {
      console.error('could not list visits', err);
      showError('Could not load today’s visits. Reload the page.');
    });
  });
  return bindCallScreen(media, {
    onState(state: CallState, reason: string | undefined) {
      const over = state === 'left' || state === 'ended' || state === 'signed-out' || state === 'failed';
      byId('controls', HTMLElement).hidden = over;
      back.hidden = !over;
      message().textContent = over ? `The visit is closed for you (${reason ?? state}).` : '';
      if (state === 'signed-out') showError('Your session ended. Reload the page to sign in again.');
    },
    onParticipants(list, self) {
      if (call !== undefined) renderParticipants(call, lobbyList, admittedList, list, self);
    },
  });
}

async function joinVisit(appointmentId: string): Promise<void> {
  showError(undefined);
  local ??= await openLocalMedia();
  signaling ??= connectSignaling();
  screen ??= callScreen(local);
  call?.close();
  call = createCall(signaling, appointmentId, local, screen.view);
  screen.attach(call);
  showScreen('screen-call');
  byId('controls', HTMLElement).hidden = false;
  await call.join();
}

start().catch((err: unknown) => {
  console.error('provider console failed', err);
  showError('Something went wrong. Reload the page.');
});
