/**
 * Safety-number verification: for each of the peer's devices, the 60-digit number both sides
 * compute (libsignal Fingerprint) in 12 groups of 5, and the same fingerprint as a QR code drawn
 * on a canvas in the page (no image URL, nothing sent anywhere). If the numbers match what the
 * other person sees, they mark the device verified; a later key change then pauses sending.
 */
import type { JSX } from 'preact';
import QRCode from 'qrcode';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { SafetyNumberView } from '../../sdk/messenger-app/api.ts';
import { Dialog } from '../console/kit/ui.tsx';
import { call } from './local-api.ts';
import { Problem } from './widgets.tsx';

function fromBase64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function Qr({ scannable, deviceId }: { scannable: string; deviceId: number }): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (canvas.current === null) return;
    QRCode.toCanvas(canvas.current, [{ data: fromBase64(scannable), mode: 'byte' }], { errorCorrectionLevel: 'L', margin: 2, width: 180 }).catch(() => setFailed(true));
  }, [scannable]);
  if (failed) return <p class="muted">The QR code could not be drawn; compare the digits instead.</p>;
  return <canvas ref={canvas} class="qr" role="img" aria-label={`QR code of the safety number for device ${deviceId}`} data-testid="safety-qr" />;
}

export function SafetyNumberDialog({ peer, name, open, onClose }: { peer: string; name: string; open: boolean; onClose: () => void }): JSX.Element {
  const [numbers, setNumbers] = useState<readonly SafetyNumberView[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  useEffect(() => {
    if (!open) return;
    setNumbers(undefined);
    setError(undefined);
    call<{ safetyNumbers: SafetyNumberView[] }>('GET', `/api/conversations/${peer}/safety-numbers`)
      .then((r) => setNumbers(r.safetyNumbers))
      .catch((err: unknown) => setError(err));
  }, [open, peer]);

  const setVerified = (deviceId: number, verified: boolean): void => {
    call<{ safetyNumbers: SafetyNumberView[] }>('POST', `/api/conversations/${peer}/verify`, { deviceId, verified })
      .then((r) => setNumbers(r.safetyNumbers))
      .catch((err: unknown) => setError(err));
  };

  return (
    <Dialog open={open} title={`Safety number with ${name}`} onCancel={onClose} testId="safety-number">
      <p>Compare these digits with the ones on {name}’s screen — in person or on a video call — or scan their QR code. If they match, nobody is in between.</p>
      <Problem error={error} />
      {numbers === undefined && error === undefined ? <p class="muted">Computing…</p> : null}
      {numbers?.length === 0 ? <p class="muted">They have no device with keys yet.</p> : null}
      {numbers?.map((n) => (
        <div class="safety" key={n.deviceId} data-testid="safety-device" data-device={n.deviceId} data-verified={n.verified ? 'true' : 'false'}>
          <h3>
            Device {n.deviceId} {n.verified ? <span class="badge ok">verified</span> : <span class="badge">not verified</span>}
          </h3>
          <p class="digits" data-testid="safety-digits" aria-label={`Safety number: ${n.groups.join(' ')}`}>
            {n.groups.map((g, i) => (
              <span key={i}>{g}</span>
            ))}
          </p>
          <Qr scannable={n.scannable} deviceId={n.deviceId} />
          {n.verified ? (
            <button type="button" onClick={() => setVerified(n.deviceId, false)} data-testid="clear-verified">
              Clear verification
            </button>
          ) : (
            <button type="button" class="primary" onClick={() => setVerified(n.deviceId, true)} data-testid="mark-verified">
              The numbers match: mark as verified
            </button>
          )}
        </div>
      ))}
      <div class="row">
        <button type="button" onClick={onClose} data-testid="close-safety-number">
          Close
        </button>
      </div>
    </Dialog>
  );
}
