/**
 * The one-time recovery codes, shown once after enrollment (the gateway keeps only their
 * hashes): copy, download as a text file, and confirm they are saved before going on.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { saveBlob } from '../kit/ui.tsx';

export function RecoveryCodes({ codes, onDone }: { codes: readonly string[]; onDone: () => void }): JSX.Element {
  const [saved, setSaved] = useState(false);
  return (
    <main class="page narrow">
      <h1>Save your recovery codes</h1>
      <p>If you lose your phone, each of these codes signs you in once. They are shown only now: store them somewhere safe, away from this computer.</p>
      <ol class="codes" data-testid="recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <p class="row">
        <button type="button" data-testid="download-codes" onClick={() => saveBlob(new Blob([codes.join('\n') + '\n'], { type: 'text/plain' }), 'recovery-codes.txt')}>
          Download as a text file
        </button>
      </p>
      <p class="row">
        <input id="codes-saved" type="checkbox" data-testid="codes-saved" checked={saved} onChange={(e) => setSaved(e.currentTarget.checked)} />
        <label for="codes-saved">I have saved these codes</label>
      </p>
      <button type="button" class="primary" data-testid="codes-done" disabled={!saved} onClick={onDone}>
        Continue to the console
      </button>
    </main>
  );
}
