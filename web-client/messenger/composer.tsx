/**
 * Writing a message: text and an optional file. The file goes to the local app first, which
 * encrypts it and uploads only ciphertext; the message then carries the key. Too-large files are
 * refused here already (the app checks again), with the limit in the message.
 */
import type { JSX } from 'preact';
import { useRef, useState } from 'preact/hooks';
import type { SessionView, UploadView } from '../../sdk/messenger-app/api.ts';
import { ApiError, call, uploadFile } from './local-api.ts';
import { formatSize, Problem } from './widgets.tsx';

export function Composer({ peer, limits, onSent }: { peer: string; limits: SessionView['limits']; onSent: () => void }): JSX.Element {
  const [text, setText] = useState('');
  const [file, setFile] = useState<File | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  const pick = (f: File | undefined): void => {
    setError(undefined);
    if (f !== undefined && f.size > limits.maxAttachmentBytes) {
      setError(new ApiError(413, 'attachment_too_large', `“${f.name}” is ${formatSize(f.size)}; files may be at most ${formatSize(limits.maxAttachmentBytes)}. Choose a smaller file.`));
      if (fileInput.current) fileInput.current.value = '';
      setFile(undefined);
      return;
    }
    setFile(f);
  };

  const send = async (): Promise<void> => {
    const uploads: string[] = [];
    if (file !== undefined) uploads.push((await uploadFile<UploadView>(file)).uploadId);
    await call('POST', `/api/conversations/${peer}/messages`, { text, uploads });
  };

  const submit = (ev: Event): void => {
    ev.preventDefault();
    if (text.trim() === '' && file === undefined) return setError(new ApiError(400, 'empty', 'Write a message or attach a file first.'));
    setBusy(true);
    setError(undefined);
    send()
      .then(() => {
        setText('');
        setFile(undefined);
        if (fileInput.current) fileInput.current.value = '';
        onSent();
      })
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };

  return (
    <form class="composer" onSubmit={submit} data-testid="composer">
      <label for="compose-text" class="visually-hidden">
        Message
      </label>
      <textarea
        id="compose-text"
        placeholder="Write a message"
        maxLength={limits.maxTextChars}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) submit(e);
        }}
        data-testid="compose-text"
      />
      <div class="row">
        <label class="file-pick">
          Attach a file <span class="muted">(up to {formatSize(limits.maxAttachmentBytes)})</span>
          <input ref={fileInput} type="file" onChange={(e) => pick(e.currentTarget.files?.[0])} data-testid="compose-file" />
        </label>
        <button type="submit" class="primary" disabled={busy} data-testid="send">
          {busy ? 'Sending…' : 'Send'}
        </button>
      </div>
      <Problem error={error} testId="compose-error" />
    </form>
  );
}
