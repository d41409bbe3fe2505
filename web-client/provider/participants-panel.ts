/**
 * The host's participant lists: who waits in the lobby (Admit / Deny) and who is in the visit
 * (Return to lobby / Remove). Labels only ("Patient", "Guest"): no names reach this page.
 */
import type { Call, HostAction } from '../shared/call.ts';
import { el, formatTime, showError } from '../shared/dom.ts';
import type { Participant } from '../shared/protocol.ts';

function actionButton(call: Call, action: HostAction, peerId: string, text: string, testId: string, label: string): HTMLButtonElement {
  const b = el('button', { text, testId: `${testId}-${peerId}`, label });
  b.type = 'button';
  b.addEventListener('click', () => {
    b.disabled = true;
    call
      .host(action, peerId)
      .catch((err: unknown) => {
        console.warn(`${action} failed`, err);
        showError('That did not work. The participant may have left; try again.');
      })
      .finally(() => (b.disabled = false));
  });
  return b;
}

export function renderParticipants(call: Call, lobbyList: HTMLElement, admittedList: HTMLElement, list: readonly Participant[], selfPeerId: string): void {
  const others = list.filter((p) => p.peerId !== selfPeerId);
  const lobby = others.filter((p) => p.state === 'lobby');
  const admitted = others.filter((p) => p.state === 'admitted');
  lobbyList.replaceChildren(
    ...lobby.map((p) =>
      el(
        'li',
        { testId: 'lobby-entry' },
        el('span', { text: `${p.label} — waiting since ${formatTime(p.joinedAt)}` }),
        actionButton(call, 'video.lobby.admit', p.peerId, 'Admit', 'admit', `Admit ${p.label}`),
        actionButton(call, 'video.lobby.deny', p.peerId, 'Deny', 'deny', `Deny ${p.label}`),
      ),
    ),
  );
  if (lobby.length === 0) lobbyList.replaceChildren(el('li', { text: 'Nobody is waiting.', className: 'muted' }));
  admittedList.replaceChildren(
    ...admitted.map((p) =>
      el(
        'li',
        { testId: 'admitted-entry' },
        el('span', { text: p.label }),
        actionButton(call, 'video.lobby.return', p.peerId, 'Return to lobby', 'return', `Return ${p.label} to the waiting room`),
        actionButton(call, 'video.remove', p.peerId, 'Remove', 'remove', `Remove ${p.label} from the visit`),
      ),
    ),
  );
  if (admitted.length === 0) admittedList.replaceChildren(el('li', { text: 'Nobody else is in the visit yet.', className: 'muted' }));
}
