/**
 * The email channel against a real SMTP server (smtp-server, STARTTLS on a self-signed cert,
 * messages parsed with mailparser): what the recipient's server receives, that TLS is required
 * unless explicitly waived, and how each refusal or lost connection is classified.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSmtpServer, type SmtpTestServer } from '../../test/helpers/smtp.ts';
import { AmbiguousChannelError, PermanentChannelError, RetryableChannelError } from './errors.ts';
import { EmailChannel, ONE_CLICK, smtpOptionsFromUrl, type EmailChannelOptions, type EmailSendInput } from './email.ts';

const FROM = '"Clinic reminders" <reminders@clinic.example>';

function message(over: Partial<EmailSendInput> = {}): EmailSendInput {
  const id = randomUUID();
  return {
    to: `patient-${id}@mail.example`,
    subject: 'Appointment reminder',
    text: 'You have an appointment tomorrow.',
    headers: { listUnsubscribe: `https://portal.example/unsubscribe/${id}`, listUnsubscribePost: ONE_CLICK },
    messageId: `<${id}@clinic.example>`,
    ...over,
  };
}

const failure = async (p: Promise<unknown>): Promise<unknown> => p.then(() => new Error('expected a failure'), (e: unknown) => e);

describe('EmailChannel (nodemailer against a real SMTP server)', () => {
  let smtp: SmtpTestServer;
  let channel: EmailChannel;
  const open = (over: Partial<EmailChannelOptions> = {}): EmailChannel => new EmailChannel({ host: 'localhost', port: smtp.port, from: FROM, ca: smtp.ca, timeoutMs: 5_000, ...over });

  beforeEach(async () => {
    smtp = await startSmtpServer();
    channel = open();
  });
  afterEach(async () => {
    channel.close();
    await smtp.close();
  });

  it('delivers over STARTTLS with the one-click unsubscribe headers, Message-ID and envelope', async () => {
    const m = message({ html: '<p>You have an appointment tomorrow.</p>' });
    const result = await channel.send(m);
    expect(result.providerMessageId).toBe(m.messageId);
    expect(result.response).toMatch(/^250/);
    expect(smtp.messages).toHaveLength(1);
    const got = smtp.messages[0];
    expect(got?.secure).toBe(true);
    expect(got?.envelopeFrom).toBe('reminders@clinic.example');
    expect(got?.envelopeTo).toEqual([m.to]);
    expect(got?.messageId).toBe(m.messageId);
    expect(got?.subject).toBe('Appointment reminder');
    expect(got?.text?.trim()).toBe('You have an appointment tomorrow.');
    expect(got?.html).toContain('<p>You have an appointment tomorrow.</p>');
    expect(got?.headerLines).toContain(`List-Unsubscribe: <${m.headers.listUnsubscribe}>`);
    expect(got?.headerLines).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(got?.headerLines).toContain('Auto-Submitted: auto-generated');
  });

  it('a 550 at RCPT TO is permanent, naming the code and not the address', async () => {
    const m = message();
    smtp.behave(m.to, { kind: 'reject-rcpt', code: 550 });
    const err = await failure(channel.send(m));
    expect(err).toBeInstanceOf(PermanentChannelError);
    expect((err as PermanentChannelError).code).toBe('smtp_550');
    expect((err as Error).message).not.toContain(m.to);
    expect(smtp.messages).toHaveLength(0);
  });

  it('a 451 at RCPT TO is retryable', async () => {
    const m = message();
    smtp.behave(m.to, { kind: 'reject-rcpt', code: 451 });
    const err = await failure(channel.send(m));
    expect(err).toBeInstanceOf(RetryableChannelError);
    expect((err as RetryableChannelError).code).toBe('smtp_451');
  });

  it('a refusal of the message itself after DATA: 554 permanent, 452 retryable', async () => {
    const a = message();
    smtp.behave(a.to, { kind: 'reject-data', code: 554 });
    expect(await failure(channel.send(a))).toBeInstanceOf(PermanentChannelError);
    const b = message();
    smtp.behave(b.to, { kind: 'reject-data', code: 452 });
    const err = await failure(channel.send(b));
    expect(err).toBeInstanceOf(RetryableChannelError);
    expect((err as RetryableChannelError).code).toBe('smtp_452');
  });

  it('a connection lost after the whole message was sent is ambiguous (the server has it)', async () => {
    const m = message();
    smtp.behave(m.to, { kind: 'drop-after-data' });
    const err = await failure(channel.send(m));
    expect(err).toBeInstanceOf(AmbiguousChannelError);
    expect(smtp.messages.map((x) => x.messageId)).toEqual([m.messageId]);
  });

  it('a connection lost before the message was sent is retryable (nothing can have been accepted)', async () => {
    const m = message();
    smtp.behave(m.to, { kind: 'drop-at-rcpt' });
    const err = await failure(channel.send(m));
    expect(err).toBeInstanceOf(RetryableChannelError);
    expect(smtp.messages).toHaveLength(0);
  });

  it('refuses a server without STARTTLS unless allowInsecure is set, and sends nothing in clear', async () => {
    const plain = await startSmtpServer({ starttls: false });
    const strict = new EmailChannel({ host: '127.0.0.1', port: plain.port, from: FROM, timeoutMs: 5_000 });
    const lax = new EmailChannel({ host: '127.0.0.1', port: plain.port, from: FROM, timeoutMs: 5_000, allowInsecure: true });
    try {
      const err = await failure(strict.send(message()));
      expect(err).toBeInstanceOf(RetryableChannelError);
      expect((err as RetryableChannelError).code).toBe('smtp_etls');
      expect(plain.sessions).toBe(1);
      expect(plain.messages).toHaveLength(0);
      await lax.send(message());
      expect(plain.messages).toHaveLength(1);
      expect(plain.messages[0]?.secure).toBe(false);
    } finally {
      strict.close();
      lax.close();
      await plain.close();
    }
  });

  it('does not trust a certificate it was not given (retryable, nothing sent)', async () => {
    channel.close();
    channel = new EmailChannel({ host: 'localhost', port: smtp.port, from: FROM, timeoutMs: 5_000 });
    const err = await failure(channel.send(message()));
    expect(err).toBeInstanceOf(RetryableChannelError);
    expect((err as RetryableChannelError).code).toBe('smtp_esocket');
    expect(String((err as Error).cause)).toMatch(/certificate/i);
    expect(smtp.messages).toHaveLength(0);
  });

  it('a server that cannot be reached is retryable', async () => {
    const port = smtp.port;
    await smtp.close();
    channel.close();
    channel = open({ port });
    const err = await failure(channel.send(message()));
    expect(err).toBeInstanceOf(RetryableChannelError);
    expect((err as RetryableChannelError).code).toBe('smtp_esocket');
    expect((err as Error).cause).toMatchObject({ originalCode: 'ECONNREFUSED' });
  });

  it('will not build a reminder without valid one-click unsubscribe headers', async () => {
    const bad: EmailSendInput[] = [
      message({ headers: { listUnsubscribe: 'http://portal.example/unsubscribe/x', listUnsubscribePost: ONE_CLICK } }),
      message({ headers: { listUnsubscribe: 'mailto:unsubscribe@clinic.example', listUnsubscribePost: ONE_CLICK } }),
      message({ messageId: 'no-brackets' }),
    ];
    for (const m of bad) expect(await failure(channel.send(m))).toBeInstanceOf(PermanentChannelError);
    expect(smtp.sessions).toBe(0);
  });

  it('close() fails a send in flight instead of leaving it hanging', async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => held.add(socket)); // accepts, never greets
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const stuck = new EmailChannel({ host: '127.0.0.1', port: address.port, from: FROM, timeoutMs: 20_000 });
    try {
      const pending = failure(stuck.send(message()));
      await new Promise((r) => setTimeout(r, 100));
      stuck.close();
      const err = await pending;
      expect(err).toBeInstanceOf(RetryableChannelError);
      expect((err as RetryableChannelError).code).toBe('smtp_eclosed');
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('refuses to send once closed; close is idempotent', async () => {
    channel.close();
    channel.close();
    expect(await failure(channel.send(message()))).toBeInstanceOf(RetryableChannelError);
    expect(smtp.sessions).toBe(0);
  });
});

describe('smtpOptionsFromUrl', () => {
  it('reads host, port, implicit TLS and percent-encoded credentials', () => {
    expect(smtpOptionsFromUrl('smtp://relay.example')).toEqual({ host: 'relay.example', port: 587, secure: false });
    expect(smtpOptionsFromUrl('smtps://us%40er:p%3Ass@relay.example')).toEqual({ host: 'relay.example', port: 465, secure: true, auth: { user: 'us@er', pass: 'p:ss' } });
    expect(smtpOptionsFromUrl('smtp://[::1]:2525')).toEqual({ host: '::1', port: 2525, secure: false });
    expect(() => smtpOptionsFromUrl('https://relay.example')).toThrow();
  });
});
