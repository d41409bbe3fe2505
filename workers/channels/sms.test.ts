/**
 * The SMS channel with the real `twilio` library, against the local fake of Twilio's API: what
 * arrives at "Twilio", and how each kind of failure is classified — above all that a send whose
 * answer was lost is ambiguous and can be reconciled instead of blindly resent.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTwilio, TwilioErrors } from '../../test/helpers/fake-twilio.ts';
import { AmbiguousChannelError, PermanentChannelError, RetryableChannelError } from './errors.ts';
import { SmsChannel, smsReference, type SmsChannelOptions } from './sms.ts';

const FROM = '+15005550006';
const CALLBACK = 'https://gateway.example/webhooks/twilio/status';
const number = (): string => `+1555${Math.floor(1_000_000 + Math.random() * 8_999_999)}`;

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

describe('SmsChannel (real twilio library, fake Twilio API)', () => {
  let fake: FakeTwilio;
  let channel: SmsChannel;
  const open = (over: Partial<SmsChannelOptions> = {}): SmsChannel =>
    new SmsChannel({ accountSid: fake.accountSid, authToken: fake.authToken, sender: { from: FROM }, statusCallbackUrl: CALLBACK, apiBaseUrl: fake.url, timeoutMs: 5_000, ...over });

  beforeEach(async () => {
    fake = await FakeTwilio.start();
    channel = open();
  });
  afterEach(async () => {
    channel.close();
    await fake.close();
  });

  it('creates the message at Twilio with the tagged body and status callback, and returns its SID', async () => {
    const to = number();
    const key = randomUUID();
    const result = await channel.send({ to, body: 'Reminder: you have an appointment tomorrow.', idempotencyKey: key });
    expect(result.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(result.status).toBe('queued');
    expect(fake.messages).toHaveLength(1);
    const [msg] = fake.messages;
    expect(msg).toMatchObject({ sid: result.providerMessageId, to, from: FROM, statusCallback: CALLBACK, body: `Reminder: you have an appointment tomorrow.\n${smsReference(key)}` });
    expect(msg?.body).not.toContain(key);
  });

  it('sends through a Messaging Service when configured with one', async () => {
    channel.close();
    channel = open({ sender: { messagingServiceSid: 'MG' + '0'.repeat(32) } });
    const result = await channel.send({ to: number(), body: 'Reminder.', idempotencyKey: randomUUID() });
    expect(result.status).toBe('accepted');
    expect(fake.messages[0]).toMatchObject({ from: null, messagingServiceSid: 'MG' + '0'.repeat(32) });
  });

  it.each([
    ['invalid To', TwilioErrors.invalidTo],
    ['unsubscribed recipient', TwilioErrors.unsubscribed],
    ['not a mobile number', TwilioErrors.notMobile],
    ['region not enabled', TwilioErrors.regionNotEnabled],
  ])('%s is a permanent refusal carrying Twilio’s code and not the number', async (_name, failure) => {
    const to = number();
    fake.failFor(to, failure);
    const err = await channel.send({ to, body: 'Reminder.', idempotencyKey: randomUUID() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentChannelError);
    expect((err as PermanentChannelError).code).toBe(String(failure.code));
    expect((err as Error).message).not.toContain(to);
    expect(fake.messages).toHaveLength(0);
  });

  it('wrong credentials are refused (401, code 20003) without creating anything', async () => {
    channel.close();
    channel = open({ authToken: 'f'.repeat(32) });
    const err = await channel.send({ to: number(), body: 'Reminder.', idempotencyKey: randomUUID() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentChannelError);
    expect((err as PermanentChannelError).code).toBe('20003');
    expect(fake.messages).toHaveLength(0);
  });

  it('a 429 (code 20429) is retryable after the Retry-After Twilio gave', async () => {
    const to = number();
    fake.failFor(to, { ...TwilioErrors.tooManyRequests, retryAfter: '7' });
    const err = await channel.send({ to, body: 'Reminder.', idempotencyKey: randomUUID() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableChannelError);
    expect(err).toMatchObject({ code: '20429', retryAfterMs: 7_000 });

    const other = number();
    fake.failFor(other, TwilioErrors.tooManyRequests);
    const bare = await channel.send({ to: other, body: 'Reminder.', idempotencyKey: randomUUID() }).catch((e: unknown) => e);
    expect(bare).toBeInstanceOf(RetryableChannelError);
    expect((bare as RetryableChannelError).retryAfterMs).toBeUndefined();
    expect(fake.messages).toHaveLength(0);
  });

  it('a 500 is ambiguous: Twilio may have created the message', async () => {
    const to = number();
    fake.failFor(to, { kind: 'server-error', created: true });
    const err = await channel.send({ to, body: 'Reminder.', idempotencyKey: randomUUID() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmbiguousChannelError);
    expect((err as AmbiguousChannelError).code).toBe('20500');
  });

  it('a connection dropped after the request is ambiguous, and reconciliation finds the message it created', async () => {
    const to = number();
    const key = randomUUID();
    const since = new Date();
    fake.failFor(to, { kind: 'drop', created: true });
    const err = await channel.send({ to, body: 'Reminder.', idempotencyKey: key }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmbiguousChannelError);
    expect(fake.messages).toHaveLength(1);

    fake.clearFailure(to);
    expect(await channel.findByIdempotencyKey({ to, idempotencyKey: key, since })).toBe(fake.messages[0]?.sid);
    // Another delivery to the same number is not confused with it.
    expect(await channel.findByIdempotencyKey({ to, idempotencyKey: randomUUID(), since })).toBeNull();
  });

  it('a dropped request that created nothing reconciles to null, so sending again delivers exactly once', async () => {
    const to = number();
    const key = randomUUID();
    const since = new Date();
    fake.failFor(to, { kind: 'drop', created: false });
    await expect(channel.send({ to, body: 'Reminder.', idempotencyKey: key })).rejects.toBeInstanceOf(AmbiguousChannelError);
    fake.clearFailure(to);
    expect(await channel.findByIdempotencyKey({ to, idempotencyKey: key, since })).toBeNull();
    const sent = await channel.send({ to, body: 'Reminder.', idempotencyKey: key });
    expect(fake.messages.map((m) => m.sid)).toEqual([sent.providerMessageId]);
    expect(await channel.findByIdempotencyKey({ to, idempotencyKey: key, since })).toBe(sent.providerMessageId);
  });

  it('reconciliation ignores the same reference before the window and cannot tell when Twilio kept no bodies', async () => {
    const to = number();
    const key = randomUUID();
    const since = new Date();
    fake.addMessage({ to, from: FROM, body: `Old.\n${smsReference(key)}`, dateCreated: new Date(since.getTime() - 3_600_000) });
    expect(await channel.findByIdempotencyKey({ to, idempotencyKey: key, since })).toBeNull();
    fake.addMessage({ to, from: FROM, body: '' });
    expect(await channel.findByIdempotencyKey({ to, idempotencyKey: key, since })).toBeUndefined();
  });

  it('reads every page of a long message list', async () => {
    const to = number();
    const key = randomUUID();
    const since = new Date();
    fake.addMessage({ to, from: FROM, body: `Reminder.\n${smsReference(key)}` });
    for (let i = 0; i < 120; i++) fake.addMessage({ to, from: FROM, body: `Other.\n${smsReference(randomUUID())}` });
    expect(await channel.findByIdempotencyKey({ to, idempotencyKey: key, since })).toBe(fake.messages[0]?.sid);
  });

  it('a connection that was never made is retryable: nothing reached Twilio', async () => {
    channel.close();
    channel = open({ apiBaseUrl: `http://127.0.0.1:${await closedPort()}` });
    const err = await channel.send({ to: number(), body: 'Reminder.', idempotencyKey: randomUUID() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableChannelError);
    expect(err).toMatchObject({ code: 'network' });
  });

  it('refuses to send once closed; close is idempotent', async () => {
    channel.close();
    channel.close();
    await expect(channel.send({ to: number(), body: 'Reminder.', idempotencyKey: randomUUID() })).rejects.toBeInstanceOf(RetryableChannelError);
    expect(fake.createRequests).toBe(0);
  });
});
