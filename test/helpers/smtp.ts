/**
 * A real SMTP server for tests (`smtp-server`), with STARTTLS on a self-signed certificate made
 * at start with openssl (the test trusts it through `ca`). Every accepted message is parsed with
 * `mailparser` and recorded with its envelope, headers, text, and whether the session was TLS.
 *
 * Per-recipient behaviour can be programmed: a permanent (550) or temporary (451) refusal at
 * RCPT TO, a refusal of the message after DATA, dropping the connection at RCPT TO, or dropping
 * it right after the whole message was received (it is recorded: the server "has" it, the
 * client never hears so).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser, type HeaderValue } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type SmtpBehaviour =
  | { readonly kind: 'reject-rcpt'; readonly code: number }
  | { readonly kind: 'reject-data'; readonly code: number }
  /** Close the connection when this recipient is named, before any message data. */
  | { readonly kind: 'drop-at-rcpt' }
  /** Take the whole message, record it, then close the connection without the final reply. */
  | { readonly kind: 'drop-after-data' };

export interface ReceivedMail {
  readonly envelopeFrom: string | null;
  readonly envelopeTo: readonly string[];
  /** The session had been upgraded with STARTTLS (or was TLS from the start). */
  readonly secure: boolean;
  /** Lower-cased header name → raw value line(s) as received. */
  readonly headers: ReadonlyMap<string, HeaderValue>;
  /** Each header's raw "Name: value" line, unfolded. */
  readonly headerLines: readonly string[];
  readonly subject: string | undefined;
  readonly messageId: string | undefined;
  readonly text: string | undefined;
  readonly html: string | false | undefined;
}

export interface SmtpTestServer {
  readonly host: string;
  readonly port: number;
  /** PEM of the self-signed certificate (CN/SAN localhost, 127.0.0.1). */
  readonly ca: string;
  readonly messages: readonly ReceivedMail[];
  /** Sessions opened (a refused connection before any message still counts). */
  readonly sessions: number;
  /** Errors the server emitted (client connections reset, TLS failures). */
  readonly serverErrors: readonly Error[];
  behave(recipient: string, behaviour: SmtpBehaviour): void;
  close(): Promise<void>;
}

function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'smtp-test-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const smtpError = (code: number, message: string): Error => Object.assign(new Error(message), { responseCode: code });

/** Starts the server on a random loopback port. `starttls: false` = a plaintext-only server. */
export async function startSmtpServer(opts: { starttls?: boolean } = {}): Promise<SmtpTestServer> {
  const starttls = opts.starttls ?? true;
  const { key, cert } = selfSignedCert();
  const messages: ReceivedMail[] = [];
  const behaviours = new Map<string, SmtpBehaviour>();
  const sockets = new Map<number, Socket>();
  const serverErrors: Error[] = [];
  let sessions = 0;

  const server = new SMTPServer({
    secure: false,
    key,
    cert,
    ...(starttls ? {} : { disabledCommands: ['STARTTLS'], hideSTARTTLS: true }),
    authOptional: true,
    logger: false,
    closeTimeout: 100,
    onConnect(_session, callback) {
      sessions += 1;
      callback();
    },
    onRcptTo(address, session, callback) {
      const b = behaviours.get(address.address);
      if (b?.kind === 'drop-at-rcpt') {
        sockets.get(session.remotePort)?.destroy();
        return;
      }
      if (b?.kind === 'reject-rcpt') return callback(smtpError(b.code, b.code >= 500 ? 'Mailbox unavailable' : 'Try again later'));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        const rcpts = session.envelope.rcptTo.map((r) => r.address);
        const behaviour = rcpts.map((r) => behaviours.get(r)).find((b) => b !== undefined && b.kind !== 'reject-rcpt' && b.kind !== 'drop-at-rcpt');
        if (behaviour?.kind === 'reject-data') return callback(smtpError(behaviour.code, 'Message refused'));
        simpleParser(Buffer.concat(chunks))
          .then((mail) => {
            messages.push({
              envelopeFrom: session.envelope.mailFrom === false ? null : session.envelope.mailFrom.address,
              envelopeTo: rcpts,
              secure: session.secure,
              headers: mail.headers,
              headerLines: mail.headerLines.map((h) => h.line.replace(/\r?\n[ \t]+/g, ' ')),
              subject: mail.subject,
              messageId: mail.messageId,
              text: mail.text,
              html: mail.html,
            });
            if (behaviour?.kind === 'drop-after-data') {
              sockets.get(session.remotePort)?.destroy();
              return;
            }
            callback();
          })
          .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
      });
    },
  });
  server.server.on('connection', (socket: Socket) => {
    const port = socket.remotePort;
    if (port === undefined) return;
    sockets.set(port, socket);
    socket.on('close', () => sockets.delete(port));
  });
  // A client dropping mid-session is expected in some tests: kept for inspection, not thrown.
  server.on('error', (err: Error) => serverErrors.push(err));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('SMTP test server has no port');

  let closed = false;
  return {
    host: '127.0.0.1',
    port: address.port,
    ca: cert,
    messages,
    serverErrors,
    get sessions() {
      return sessions;
    },
    behave(recipient, behaviour) {
      behaviours.set(recipient, behaviour);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const s of sockets.values()) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
