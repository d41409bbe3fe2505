/**
 * Where sessions live in Redis and the Lua scripts that read and end them. Scripts make the
 * decisions that must be atomic across gateway processes: "is this session still alive, and
 * count this request as activity" in one round trip, and "end it" as a claim that exactly one
 * caller wins (that caller alone writes the audit record; the ended event is published in the
 * same step so no process can miss it while the session is already gone).
 *
 * Layout under `<keyPrefix>session:`
 *   s:<id>              hash: the session (token hash, principal fields, times)
 *   t:<sha256(token)>   string: session id (the token itself is never stored)
 *   u:<userId>          set: the user's session ids
 *   deadlines           zset: id scored by min(idle deadline, absolute deadline), for the sweeper
 *   audit-pending       hash: id → end record whose audit append has not been confirmed
 *   audit-lease:<id>    string: who is appending that record right now (prevents double audit)
 *   ended               pub/sub channel: {sessionId,userId,reason} for every end
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../../../core/redis/connect.ts';

export interface SessionKeys {
  readonly base: string;
  session(id: string): string;
  token(tokenHash: string): string;
  user(userId: string): string;
  readonly deadlines: string;
  readonly pending: string;
  lease(id: string): string;
  readonly channel: string;
}

export function sessionKeys(keyPrefix: string): SessionKeys {
  const base = `${keyPrefix}session:`;
  return {
    base,
    session: (id) => `${base}s:${id}`,
    token: (h) => `${base}t:${h}`,
    user: (u) => `${base}u:${u}`,
    deadlines: `${base}deadlines`,
    pending: `${base}audit-pending`,
    lease: (id) => `${base}audit-lease:${id}`,
    channel: `${base}ended`,
  };
}

/**
 * Look a session up (by token key, or by id) and, when `touchAt` is due, record activity.
 * KEYS[1] = token key or '' ; ARGV = base, id-or-'', now, touchAt (0 = none), touchEveryMs.
 * Returns false (unknown), {id, 'idle'|'absolute'} (expired; caller ends it), or {id, 'ok', HGETALL}.
 */
export const LOOKUP_LUA = `
local base = ARGV[1]
local id = ARGV[2]
if id == '' then
  id = redis.call('GET', KEYS[1])
  if not id then return false end
end
local sk = base .. 's:' .. id
local f = redis.call('HMGET', sk, 'lastSeenAt', 'absoluteExpiresAt', 'idleMs')
if not f[1] then return false end
local now = tonumber(ARGV[3])
local touchAt = tonumber(ARGV[4])
local every = tonumber(ARGV[5])
local last = tonumber(f[1])
local abs = tonumber(f[2])
local idle = tonumber(f[3])
if now >= abs then return {id, 'absolute'} end
if now >= last + idle then return {id, 'idle'} end
if touchAt > 0 and touchAt - last >= every then
  redis.call('HSET', sk, 'lastSeenAt', ARGV[4])
  redis.call('ZADD', base .. 'deadlines', math.min(touchAt + idle, abs), id)
end
return {id, 'ok', redis.call('HGETALL', sk)}
`;

/**
 * The end claim. ARGV = base, id, reason ('' = end only if past a deadline, deciding idle or
 * absolute here), ctxJson, now, leaseMs, leaseOwner.
 * Returns the end record JSON when this call ended the session; false when it was already gone
 * (or, with reason '', not expired after all); 'vanished' when the sweeper's index named a
 * session whose data had already expired from Redis (no end record can be written).
 */
export const END_LUA = `
local base = ARGV[1]
local id = ARGV[2]
local reason = ARGV[3]
local now = tonumber(ARGV[5])
local sk = base .. 's:' .. id
local f = redis.call('HMGET', sk, 'th', 'userId', 'kind', 'patientId', 'lastSeenAt', 'absoluteExpiresAt', 'idleMs')
if not f[1] then
  if redis.call('ZREM', base .. 'deadlines', id) == 1 and reason == '' then return 'vanished' end
  return false
end
local idleAt = tonumber(f[5]) + tonumber(f[7])
local absAt = tonumber(f[6])
if reason == '' then
  if now >= absAt then reason = 'absolute'
  elseif now >= idleAt then reason = 'idle'
  else
    redis.call('ZADD', base .. 'deadlines', math.min(idleAt, absAt), id)
    return false
  end
end
redis.call('DEL', sk, base .. 't:' .. f[1])
redis.call('SREM', base .. 'u:' .. f[2], id)
redis.call('ZREM', base .. 'deadlines', id)
local rec = cjson.encode({sessionId = id, reason = reason, userId = f[2], kind = f[3], patientId = f[4], endedAt = ARGV[5], ctx = cjson.decode(ARGV[4])})
redis.call('HSET', base .. 'audit-pending', id, rec)
redis.call('SET', base .. 'audit-lease:' .. id, ARGV[7], 'PX', ARGV[6])
redis.call('PUBLISH', base .. 'ended', cjson.encode({sessionId = id, userId = f[2], reason = reason}))
return rec
`;

export type ScriptRunner = (redis: Redis, keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/** EVALSHA with a one-time EVAL fallback when the server has not cached the script yet. */
export function script(lua: string): ScriptRunner {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(lua, keys.length, ...keys, ...args);
    }
  };
}
