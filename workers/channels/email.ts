/**
 * Email delivery over SMTP with nodemailer (its SMTPConnection and MailComposer). STARTTLS is
 * required unless `allowInsecure` is set explicitly (local development, tests against a
 * plaintext server); with `secure` the connection is TLS from the first byte (port 465).
 *
 * Every reminder carries RFC 8058 one-click unsubscribe headers; they are required parameters,
 * so a message without them cannot be built. (RFC 8058 also wants a DKIM signature covering both
 * headers: that is the relay's job here, as the submission server signs for the domain.)
 *
 * Outcome of a failure, precisely (the message is delivered once the server has the terminating
 * "." and answers 250):
 *   - the server answered 5xx to MAIL/RCPT/DATA or to the message → permanent;
 *   - it answered 4xx to them → retryable (nothing was accepted);
 *   - connection, TLS (including a server without STARTTLS), greeting or login failed, or the
 *     connection was lost before the whole message was handed to the socket (so before the
 *     final ".") → retryable: the server discards an unterminated message;
 *   - the connection was lost after the whole message was written but before the reply →
 *     ambiguous: the server may have queued it. Plain SMTP offers no way to ask, so the worker
 *     cannot reconcile an email; it must be left for a person (or accepted as a possible repeat).
 */
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { AmbiguousChannelError, ChannelError, PermanentChannelError, RetryableChannelError } from './errors.ts';

/** The only value RFC 8058 allows for List-Unsubscribe-Post. */
export const ONE_CLICK = 'List-Unsubscribe=One-Click';

export interface EmailChannelOptions {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (port 465). Otherwise STARTTLS, required unless allowInsecure. */
  readonly secure?: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
  /** The From header and envelope sender, e.g. `"Clinic" <reminders@clinic.example>`. */
  readonly from: string;
  /** Send without TLS when the server offers no STARTTLS. Never in production. Default false. */
  readonly allowInsecure?: boolean;
  /** Trust roots for the server certificate (a private CA, the test's self-signed cert). */
  readonly ca?: string | Buffer;
  /** EHLO name. */
  readonly clientName?: string;
  /** Connect, greeting and socket inactivity limit. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface EmailUnsubscribeHeaders {
  /** The one-click URL (https), without angle brackets: `https://portal.example/unsubscribe/TOKEN`. */
  readonly listUnsubscribe: string;
  readonly listUnsubscribePost: typeof ONE_CLICK;
}

export interface EmailSendInput {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
  readonly headers: EmailUnsubscribeHeaders;
  /** `<id@domain>`, stable per delivery: the id a recipient's client and our records share. */
  readonly messageId: string;
}

export interface EmailSendResult {
  /** The Message-ID the message went out with (the server's own when it replaced ours). */
  readonly providerMessageId: string;
  /** The server's final reply, e.g. `250 2.0.0 Ok: queued as 4C1F2`. */
  readonly response: string;
}

/** The commands whose replies are about the message itself (nodemailer's `command` of an error). */
const MESSAGE_COMMANDS: ReadonlySet<string> = new Set(['MAIL FROM', 'RCPT TO', 'DATA']);

const MESSAGE_ID = /^<[^<>@\s]+@[^<>@\s]+>$/;

/** Host, port, implicit TLS and credentials from the `SMTP_URL` setting (`smtp://user:pass@host:587`, `smtps://…:465`). */
export function smtpOptionsFromUrl(smtpUrl: string): Pick<EmailChannelOptions, 'host' | 'port' | 'secure' | 'auth'> {
  const u = new URL(smtpUrl);
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new Error('SMTP_URL must be smtp:// or smtps://');
  const secure = u.protocol === 'smtps:';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port === '' ? (secure ? 465 : 587) : Number(u.port);
  const auth = u.username === '' ? undefined : { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
  return { host, port, secure, ...(auth === undefined ? {} : { auth }) };
}

/** Maps an SMTP failure to a channel error; `messageWritten` = the whole message (with its final ".") reached the socket. */
export function classifySmtpError(err: unknown, messageWritten: boolean): ChannelError {
  if (err instanceof ChannelError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as { responseCode?: unknown; code?: unknown; command?: unknown };
  const nmCode = typeof e.code === 'string' ? e.code : 'unknown';
  const command = typeof e.command === 'string' ? e.command : '';
  // A reply about this message (its sender, its recipient, its content) decides by its class.
  // A reply refusing the session (STARTTLS, AUTH, a 421 greeting) says nothing about the message.
  if (typeof e.responseCode === 'number' && MESSAGE_COMMANDS.has(command)) {
    const code = `smtp_${e.responseCode}`;
    if (e.responseCode >= 500) return new PermanentChannelError(code, `SMTP server refused the message at ${command} (${e.responseCode})`, { cause: err });
    if (e.responseCode >= 400) return new RetryableChannelError(code, `SMTP server deferred the message at ${command} (${e.responseCode})`, { cause: err });
  }
  const code = `smtp_${nmCode.toLowerCase()}`;
  if (messageWritten) return new AmbiguousChannelError(code, `SMTP connection lost after the message was sent (${nmCode}); it may have been accepted`, { cause: err });
  return new RetryableChannelError(code, `SMTP failed before the message was sent (${nmCode}${command === '' ? '' : ` at ${command}`})`, { cause: err });
}

function checkInput(input: EmailSendInput): void {
  const url = URL.parse(input.headers.listUnsubscribe);
  if (url?.protocol !== 'https:') throw new PermanentChannelError('bad_unsubscribe_url', 'List-Unsubscribe must be an https URL (RFC 8058)');
  if (input.headers.listUnsubscribePost !== ONE_CLICK) throw new PermanentChannelError('bad_unsubscribe_post', 'List-Unsubscribe-Post must be "List-Unsubscribe=One-Click"');
  if (!MESSAGE_ID.test(input.messageId)) throw new PermanentChannelError('bad_message_id', 'messageId must look like <id@domain>');
  if (/[\r\n]/.test(input.to) || /[\r\n]/.test(input.subject)) throw new PermanentChannelError('bad_header', 'line breaks in a header value');
}

/** The RFC 5322 message (MailComposer folds and encodes the headers) and its SMTP envelope. */
async function compose(from: string, input: EmailSendInput) {
  const mail = new MailComposer({
    from,
    to: input.to,
    subject: input.subject,
    text: input.text,
    ...(input.html === undefined ? {} : { html: input.html }),
    messageId: input.messageId,
    headers: {
      'List-Unsubscribe': `<${input.headers.listUnsubscribe}>`,
      'List-Unsubscribe-Post': input.headers.listUnsubscribePost,
      // RFC 3834: an automated message; keeps vacation responders from answering it.
      'Auto-Submitted': 'auto-generated',
    },
    xMailer: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  }).compile();
  return { envelope: mail.getEnvelope(), raw: await mail.build() };
}

export class EmailChannel {
  readonly #options: EmailChannelOptions;
  /** Connections in flight, each with how to fail its current step (close() uses it). */
  readonly #open = new Map<SMTPConnection, (err: Error) => void>();
  #closed = false;

  constructor(options: EmailChannelOptions) {
    this.#options = options;
  }

  /** Sends one message on its own connection. Throws Permanent/Retryable/AmbiguousChannelError. */
  async send(input: EmailSendInput): Promise<EmailSendResult> {
    if (this.#closed) throw new RetryableChannelError('closed', 'email channel is closed');
    checkInput(input);
    let built: Awaited<ReturnType<typeof compose>>;
    try {
      built = await compose(this.#options.from, input);
    } catch (err) {
      throw new PermanentChannelError('bad_message', 'the message could not be built', { cause: err });
    }
    const { envelope, raw } = built;

    const conn = this.#connection();
    // nodemailer reports connection-level failures (refused, TLS, lost socket) as an 'error'
    // event, not through connect()'s callback: each step below also fails on that event.
    let failStep: ((err: unknown) => void) | null = null;
    conn.on('error', (err: Error) => failStep?.(err));
    this.#open.set(conn, (err) => failStep?.(err));
    const step = <T>(run: (resolve: (value: T) => void, reject: (err: unknown) => void) => void): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        failStep = reject;
        run(resolve, reject);
      }).finally(() => {
        failStep = null;
      });
    let written = false;
    try {
      await step<void>((resolve, reject) => conn.connect((err) => (err === undefined ? resolve() : reject(err))));
      const auth = this.#options.auth;
      if (auth !== undefined) {
        await step<void>((resolve, reject) => conn.login({ credentials: { user: auth.user, pass: auth.pass } }, (err) => (err === null ? resolve() : reject(err))));
      }
      const source = Readable.from([raw]);
      // 'end' = every byte went to nodemailer's DATA stream, which only then writes the final ".".
      source.once('end', () => {
        written = true;
      });
      const info = await step<SMTPConnection.SentMessageInfo>((resolve, reject) =>
        conn.send({ from: envelope.from, to: envelope.to, size: raw.length }, source, (err, sent) => (err !== null && err !== undefined ? reject(err) : sent === undefined ? reject(new Error('no send result')) : resolve(sent))),
      );
      if (info.accepted.length === 0) throw new PermanentChannelError('smtp_rejected', 'SMTP server accepted no recipient');
      // The message is accepted: a failure while saying QUIT changes nothing (and has no step to fail).
      conn.quit();
      return { providerMessageId: info.serverMessageId ?? input.messageId, response: info.response };
    } catch (err) {
      conn.close();
      throw classifySmtpError(err, written);
    } finally {
      this.#open.delete(conn);
    }
  }

  #connection(): SMTPConnection {
    const o = this.#options;
    const timeout = o.timeoutMs ?? 30_000;
    const secure = o.secure === true;
    const insecure = o.allowInsecure === true;
    const conn = new SMTPConnection({
      host: o.host,
      port: o.port,
      secure,
      // Required STARTTLS unless explicitly allowed not to; opportunistic otherwise.
      requireTLS: !secure && !insecure,
      opportunisticTLS: !secure && insecure,
      tls: { minVersion: 'TLSv1.2', ...(o.ca === undefined ? {} : { ca: o.ca }) },
      ...(o.clientName === undefined ? {} : { name: o.clientName }),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      logger: false,
    });
    return conn;
  }

  /** Drops connections in flight (their sends fail retryable or ambiguous) and refuses new sends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [conn, fail] of this.#open) {
      fail(Object.assign(new Error('email channel closed'), { code: 'ECLOSED' }));
      conn.close();
    }
    this.#open.clear();
  }
}
