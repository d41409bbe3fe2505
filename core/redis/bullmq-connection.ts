/**
 * BullMQ connection options copied from a connected client. Options, not the instance: BullMQ
 * pins its own ioredis and then owns the connections it opens; the blocking worker connection
 * must retry forever (`maxRetriesPerRequest: null`) rather than fail a command mid-outage.
 */
import type { Redis } from './connect.ts';

export interface BullConnection {
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number | undefined;
  readonly tls: Redis['options']['tls'];
  readonly family: number | undefined;
  readonly maxRetriesPerRequest: null;
}

export function bullConnection(redis: Redis): BullConnection {
  const { host, port, username, password, db, tls, family } = redis.options;
  return { host, port, username, password, db, tls, family, maxRetriesPerRequest: null };
}
