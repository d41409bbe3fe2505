/**
 * ICE servers for visit pages, with short-lived TURN credentials in coturn's REST API scheme
 * (`use-auth-secret` + `static-auth-secret`): username = "<unix expiry>:<opaque id>", password =
 * base64(HMAC-SHA1(secret, username)). coturn checks the HMAC and the expiry itself, so the
 * gateway and coturn share only the secret and nothing is stored. The opaque id is the session's
 * public id, never a name.
 */
import { createHmac } from 'node:crypto';
import type { Config } from '../../core/config/schema.ts';

export interface IceServerInfo {
  readonly urls: string[];
  readonly username?: string;
  readonly credential?: string;
}

export type TurnConfig = Pick<Config, 'turnUrls' | 'turnSecret' | 'turnTtlSeconds'>;

export function turnCredential(secret: string, subject: string, expiresAtSec: number): { username: string; credential: string } {
  const username = `${expiresAtSec}:${subject}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** The ICE servers for one participant; empty when no TURN/STUN is configured (loopback, LAN). */
export function iceServersFor(config: TurnConfig, subject: string, nowMs = Date.now()): IceServerInfo[] {
  const urls = (config.turnUrls ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) return [];
  const stun = urls.filter((u) => u.startsWith('stun:'));
  const turn = urls.filter((u) => !u.startsWith('stun:'));
  const servers: IceServerInfo[] = stun.length > 0 ? [{ urls: stun }] : [];
  if (turn.length > 0 && config.turnSecret !== undefined) {
    servers.push({ urls: turn, ...turnCredential(config.turnSecret, subject, Math.floor(nowMs / 1000) + config.turnTtlSeconds) });
  }
  return servers;
}
