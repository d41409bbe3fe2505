/**
 * The patient's visit page (/visit/#<token>): redeem the link, check camera and microphone,
 * join → lobby ("waiting for your provider…") → call. No PHI in the title or the URL.
 */
import '../shared/visit.css';
import { bindCallScreen } from '../shared/call-screen.ts';
import { createCall, type CallState } from '../shared/call.ts';
import { byId, showError, showScreen, showState } from '../shared/dom.ts';
import { fillDevicePicker, openLocalMedia, type LocalMedia } from '../shared/local-media.ts';
import { connectSignaling } from '../shared/signaling.ts';
import { redeem, redeemMessage, resume, takeToken } from './redeem.ts';

const ENDED: Readonly<Record<string, string>> = {
  'denied': 'The provider could not admit you to this visit. Please contact the clinic.',
  'removed': 'You were removed from the visit. Please contact the clinic if this was a mistake.',
  'left': 'You left the visit. To rejoin, reload this page.',
  'session-ended': 'Your visit session ended.',
  'ended': 'The visit has ended. Thank you.',
  'cancelled': 'This visit was cancelled. Please contact the clinic.',
  'signed-out': 'Your visit session ended. To rejoin, ask the clinic for a new link.',
  'visit_closed': 'This visit is not open right now. Please check the time of your visit.',
  'room_full': 'This visit is full. Please contact the clinic.',
};

async function start(): Promise<void> {
  const token = takeToken();
  let appointmentId: string | undefined;
  try {
    appointmentId = token === undefined ? await resume() : await redeem(token);
  } catch (err) {
    showState('error');
    showError(redeemMessage(err));
    return;
  }
  if (appointmentId === undefined) {
    showState('error');
    showError('No visit link found. Please open the link from your message again.');
    return;
  }
  let local: LocalMedia;
  try {
    local = await openLocalMedia();
  } catch (err) {
    console.warn('camera/microphone unavailable', err);
    showState('error');
    showError('We could not use your camera or microphone. Allow access in your browser settings, then reload this page.');
    return;
  }
  deviceCheck(local, appointmentId);
}

function deviceCheck(local: LocalMedia, appointmentId: string): void {
  const screen = bindCallScreen(local, { onState });
  const cameraSelect = byId('camera-select', HTMLSelectElement);
  const micSelect = byId('mic-select', HTMLSelectElement);
  const message = byId('message', HTMLElement);
  const refill = (): Promise<void[]> =>
    Promise.all([fillDevicePicker(cameraSelect, 'videoinput', local.camera()), fillDevicePicker(micSelect, 'audioinput', local.microphone())]);
  refill().catch((err: unknown) => console.warn('could not list devices', err));
  for (const [select, kind] of [[cameraSelect, 'videoinput'], [micSelect, 'audioinput']] as const) {
    select.addEventListener('change', () => {
      local.switchDevice(kind, select.value).catch((err: unknown) => {
        console.warn('could not switch device', err);
        showError('That device could not be used. Please pick another one.');
      });
    });
  }
  showState('device-check');
  showScreen('screen-check');

  byId('join', HTMLButtonElement).addEventListener('click', () => {
    showScreen('screen-call');
    byId('controls', HTMLElement).hidden = false;
    const signaling = connectSignaling();
    const call = createCall(signaling, appointmentId, local, screen.view);
    screen.attach(call);
    call.join().catch((err: unknown) => console.error('join failed', err));
  });

  function onState(state: CallState, reason: string | undefined): void {
    byId('lobby', HTMLElement).hidden = state !== 'lobby';
    message.textContent = state === 'joining' ? 'Connecting…' : state === 'admitted' ? 'Connecting to your provider…' : '';
    if (state === 'left' || state === 'ended' || state === 'signed-out' || state === 'failed') {
      byId('controls', HTMLElement).hidden = true;
      const text = ENDED[reason ?? state] ?? ENDED[state];
      if (state === 'failed') showError(text ?? 'The connection to your visit failed. Please reload this page.');
      else message.textContent = text ?? 'The visit has ended.';
    }
  }
}

start().catch((err: unknown) => {
  console.error('visit page failed', err);
  showError('Something went wrong. Please reload this page.');
});
