/**
 * The call screen both pages share: remote video (large) and audio, self view (small), mute /
 * camera / leave buttons, the state text, the "reconnecting…" and connection-quality indicators,
 * and `window.__visitStats` for browser tests. Returns the CallView the call drives.
 */
import type { Call, CallState, CallView, RemoteTracks } from './call.ts';
import { EMPTY_STATS, type VisitStats } from './call-stats.ts';
import { byId, showState } from './dom.ts';
import type { LocalMedia } from './local-media.ts';

declare global {
  interface Window {
    /** Test hook: what the receive side has decoded so far (numbers only, nothing secret). */
    __visitStats?: () => Promise<VisitStats & { state: string }>;
  }
}

const QUALITY_TEXT: Readonly<Record<string, string>> = { good: 'Connection: good', fair: 'Connection: fair', poor: 'Connection: poor', unknown: '' };

export interface CallScreenOptions {
  /** Called on every state change, after the screen updated (the page adds its own messages). */
  readonly onState: (state: CallState, reason: string | undefined) => void;
  /** Provider page: render the participant lists. */
  readonly onParticipants?: CallView['participants'];
}

export function bindCallScreen(local: LocalMedia, options: CallScreenOptions): { view: CallView; attach(call: Call): void } {
  const remoteVideo = byId('remote-video', HTMLVideoElement);
  const remoteAudio = byId('remote-audio', HTMLAudioElement);
  const selfVideo = byId('self-video', HTMLVideoElement);
  const reconnecting = byId('reconnecting', HTMLElement);
  const quality = byId('quality', HTMLElement);
  const micButton = byId('mic-toggle', HTMLButtonElement);
  const camButton = byId('camera-toggle', HTMLButtonElement);
  const leaveButton = byId('leave', HTMLButtonElement);
  selfVideo.srcObject = local.stream;
  let shownVideo: MediaStreamTrack | undefined;
  let call: Call | undefined;
  window.__visitStats = () => Promise.resolve({ ...EMPTY_STATS, state: 'idle' });

  const play = (m: HTMLMediaElement): void => {
    m.play().catch((err: unknown) => console.warn('autoplay refused', err));
  };

  const view: CallView = {
    state(state, reason) {
      showState(state);
      document.body.dataset['phase'] = state === 'in-call' || state === 'admitted' ? 'call' : state;
      options.onState(state, reason);
    },
    participants(list, self) {
      options.onParticipants?.(list, self);
    },
    reconnecting(on) {
      reconnecting.hidden = !on;
    },
    quality(q) {
      quality.textContent = QUALITY_TEXT[q] ?? '';
      quality.dataset['quality'] = q;
    },
    remote(tracks: RemoteTracks) {
      const video = tracks.video[tracks.video.length - 1];
      if (video !== shownVideo) {
        shownVideo = video;
        remoteVideo.srcObject = video === undefined ? null : new MediaStream([video]);
        if (video !== undefined) play(remoteVideo);
      }
      remoteVideo.hidden = video === undefined;
      remoteAudio.srcObject = tracks.audio.length === 0 ? null : new MediaStream([...tracks.audio]);
      if (tracks.audio.length > 0) play(remoteAudio);
    },
  };

  const toggle = (button: HTMLButtonElement, source: 'camera' | 'microphone', onText: string, offText: string): void => {
    button.addEventListener('click', () => {
      const on = button.getAttribute('aria-pressed') === 'true'; // pressed = muted / camera off
      button.setAttribute('aria-pressed', String(!on));
      button.textContent = on ? onText : offText;
      call?.setEnabled(source, on).catch((err: unknown) => console.warn(`could not switch ${source}`, err));
    });
  };
  toggle(micButton, 'microphone', 'Mute microphone', 'Unmute microphone');
  toggle(camButton, 'camera', 'Turn camera off', 'Turn camera on');
  leaveButton.addEventListener('click', () => {
    call?.leave().catch((err: unknown) => console.warn('leave failed', err));
  });

  return {
    view,
    attach(c) {
      call = c;
      window.__visitStats = async () => ({ ...(await c.stats()), state: c.state });
    },
  };
}
