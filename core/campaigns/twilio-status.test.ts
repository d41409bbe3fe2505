/**
 * Status callbacks as Twilio sends them (signed by the fake with the twilio library's own
 * signer, posted over HTTP to a real local receiver), verified and parsed by parseStatusCallback.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { FakeTwilio } from '../../test/helpers/fake-twilio.ts';
import { parseStatusCallback, type StatusCallback } from './twilio-status.ts';

const SID = 'SM' + 'a'.repeat(32);
const URL_ = 'https://gateway.example/webhooks/twilio/status?d=1';

function signed(params: Record<string, string>, opts: { token: string; url?: string }): { body: string; signature: string } {
  return { body: new URLSearchParams(params).toString(), signature: twilio.getExpectedTwilioSignature(opts.token, opts.url ?? URL_, params) };
}

const status = (err: unknown): number | undefined => (err instanceof AppError ? err.status : undefined);

describe('parseStatusCallback', () => {
  const token = randomUUID().replaceAll('-', '');
  const params = { AccountSid: 'AC' + 'b'.repeat(32), MessageSid: SID, MessageStatus: 'delivered', To: '+15555550100', From: '+15005550006', ApiVersion: '2010-04-01' };

  it('accepts a correctly signed callback and returns the SID and status', () => {
    const { body, signature } = signed(params, { token });
    expect(parseStatusCallback({ authToken: token, url: URL_, signature, body })).toEqual({ messageSid: SID, status: 'delivered' });
  });

  it('returns the error code of a failed message', () => {
    const p = { ...params, MessageStatus: 'undelivered', ErrorCode: '30003' };
    const { body, signature } = signed(p, { token });
    expect(parseStatusCallback({ authToken: token, url: URL_, signature, body })).toEqual({ messageSid: SID, status: 'undelivered', errorCode: 30003 });
  });

  it('refuses (403) a missing signature, another token, another URL, or a changed parameter', () => {
    const good = signed(params, { token });
    const cases = [
      { signature: undefined, body: good.body, url: URL_ },
      { signature: '', body: good.body, url: URL_ },
      { signature: signed(params, { token: 'x'.repeat(32) }).signature, body: good.body, url: URL_ },
      { signature: good.signature, body: good.body, url: 'https://gateway.example/webhooks/twilio/status?d=2' },
      { signature: good.signature, body: new URLSearchParams({ ...params, MessageStatus: 'failed' }).toString(), url: URL_ },
    ];
    for (const c of cases) {
      let caught: unknown;
      try {
        parseStatusCallback({ authToken: token, ...c });
      } catch (err) {
        caught = err;
      }
      expect(status(caught)).toBe(403);
    }
  });

  it('refuses (400) a signed request that is not a status callback, naming no value', () => {
    const { body, signature } = signed({ ...params, MessageStatus: 'exploded' }, { token });
    let caught: unknown;
    try {
      parseStatusCallback({ authToken: token, url: URL_, signature, body });
    } catch (err) {
      caught = err;
    }
    expect(status(caught)).toBe(400);
    expect(JSON.stringify((caught as AppError).fields)).not.toContain('+1555');
  });
});

describe('status callbacks from the fake Twilio over HTTP', () => {
  let fake: FakeTwilio;
  let receiver: Server;
  let url: string;
  const received: StatusCallback[] = [];
  const refused: number[] = [];

  beforeEach(async () => {
    fake = await FakeTwilio.start();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const sig = req.headers['x-twilio-signature'];
          received.push(parseStatusCallback({ authToken: fake.authToken, url, signature: typeof sig === 'string' ? sig : undefined, body: Buffer.concat(chunks).toString('utf8') }));
          res.writeHead(204).end();
        } catch (err) {
          const code = err instanceof AppError ? err.status : 500;
          refused.push(code);
          res.writeHead(code).end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/twilio/status`;
  });
  afterEach(async () => {
    await fake.close();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    received.length = 0;
    refused.length = 0;
  });

  it('verifies what Twilio signs and refuses what another account signs', async () => {
    const msg = fake.addMessage({ to: '+15555550101', from: '+15005550006', body: 'x', statusCallback: url, status: 'queued' });
    expect(await fake.sendStatusCallback(msg.sid, 'sent')).toBe(204);
    expect(await fake.sendStatusCallback(msg.sid, 'failed', { errorCode: 30007 })).toBe(204);
    expect(await fake.sendStatusCallback(msg.sid, 'delivered', { authToken: 'c'.repeat(32) })).toBe(403);
    expect(received).toEqual([
      { messageSid: msg.sid, status: 'sent' },
      { messageSid: msg.sid, status: 'failed', errorCode: 30007 },
    ]);
    expect(refused).toEqual([403]);
  });
});
