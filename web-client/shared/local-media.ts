/**
 * The local camera and microphone: acquired once, kept across rejoins (a media-worker failover
 * must not ask for permission again), switchable from the device pickers.
 */

export interface LocalMedia {
  readonly stream: MediaStream;
  camera(): MediaStreamTrack | undefined;
  microphone(): MediaStreamTrack | undefined;
  /** Switch to another device of that kind; returns the new track (the old one is stopped). */
  switchDevice(kind: 'videoinput' | 'audioinput', deviceId: string): Promise<MediaStreamTrack | undefined>;
  stop(): void;
}

const VIDEO: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };

export async function openLocalMedia(): Promise<LocalMedia> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: VIDEO, audio: { echoCancellation: true, noiseSuppression: true } });
  const trackOf = (kind: 'video' | 'audio'): MediaStreamTrack | undefined => stream.getTracks().find((t) => t.kind === kind);
  return {
    stream,
    camera: () => trackOf('video'),
    microphone: () => trackOf('audio'),
    async switchDevice(kind, deviceId) {
      const constraints: MediaStreamConstraints =
        kind === 'videoinput' ? { video: { ...VIDEO, deviceId: { exact: deviceId } } } : { audio: { deviceId: { exact: deviceId }, echoCancellation: true } };
      const fresh = await navigator.mediaDevices.getUserMedia(constraints);
      const track = fresh.getTracks()[0];
      if (track === undefined) return undefined;
      const old = trackOf(track.kind === 'video' ? 'video' : 'audio');
      if (old !== undefined) {
        stream.removeTrack(old);
        old.stop();
      }
      stream.addTrack(track);
      return track;
    },
    stop() {
      for (const t of stream.getTracks()) t.stop();
    },
  };
}

/** Fill a <select> with the devices of one kind (labels are known once permission was granted). */
export async function fillDevicePicker(select: HTMLSelectElement, kind: 'videoinput' | 'audioinput', current: MediaStreamTrack | undefined): Promise<void> {
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === kind);
  const currentId = current?.getSettings().deviceId;
  select.replaceChildren(
    ...devices.map((d, i) => {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label !== '' ? d.label : `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`;
      o.selected = d.deviceId === currentId;
      return o;
    }),
  );
  select.disabled = devices.length < 2;
}
