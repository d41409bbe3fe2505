import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { iceServersFor, turnCredential } from './turn.ts';

describe('TURN REST credentials (coturn use-auth-secret)', () => {
  it('derives the password as base64 HMAC-SHA1 of "<expiry>:<subject>" under the shared secret', () => {
    const c = turnCredential('a-long-shared-secret', 'sess1', 1_900_000_000);
    expect(c.username).toBe('1900000000:sess1');
    expect(c.credential).toBe(createHmac('sha1', 'a-long-shared-secret').update('1900000000:sess1').digest('base64'));
    expect(turnCredential('another-shared-secret', 'sess1', 1_900_000_000).credential).not.toBe(c.credential);
  });

  it('hands STUN URLs without credentials and TURN URLs with ones that expire after the TTL', () => {
    const now = 1_800_000_000_000;
    const servers = iceServersFor({ turnUrls: 'stun:turn.example.org:3478, turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349', turnSecret: 'a-long-shared-secret', turnTtlSeconds: 600 }, 'sess9', now);
    expect(servers[0]).toEqual({ urls: ['stun:turn.example.org:3478'] });
    expect(servers[1]?.urls).toEqual(['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349']);
    expect(servers[1]?.username).toBe(`${now / 1000 + 600}:sess9`);
  });

  it('offers no TURN server without a secret, and nothing when no URL is configured', () => {
    expect(iceServersFor({ turnUrls: 'turn:t.example.org:3478', turnSecret: undefined, turnTtlSeconds: 600 }, 's')).toEqual([]);
    expect(iceServersFor({ turnUrls: undefined, turnSecret: 'a-long-shared-secret', turnTtlSeconds: 600 }, 's')).toEqual([]);
  });
});
