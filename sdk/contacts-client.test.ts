/**
 * listContacts against the gateway the composition root builds (PGlite + the test Redis, a real
 * socket): the SDK's schema accepts the gateway's answer for both sides of a care team, and an
 * account that never messages gets a typed 403.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { connectRedis } from '../core/redis/connect.ts';
import { hashPassword } from '../gateway/auth/password.ts';
import { testConfig } from '../gateway/testing/harness.ts';
import { STAFF_PASSWORD } from '../gateway/testing/identity-harness.ts';
import { openTestDb } from '../test/helpers/databases.ts';
import { seedPeople, startTestGateway } from '../test/helpers/messaging.ts';
import { listContacts } from './contacts-client.ts';
import { SdkError } from './errors.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('listContacts (real gateway)', () => {
  it('lists the care team both ways; a scheduler is refused with a typed 403', async () => {
    const t = await openTestDb('pglite');
    cleanups.push(() => t.dispose());
    const redis = await connectRedis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const gateway = await startTestGateway({ db: t.db, redis, config: testConfig(), keyPrefix: `test-${randomUUID()}:` });
    cleanups.push(() => gateway.close());
    const { provider, patient } = await seedPeople(gateway.features.identity, t.db);

    expect(await listContacts({ baseUrl: gateway.url, token: provider.token })).toEqual({
      contacts: [{ userId: patient.userId, kind: 'patient', displayName: 'Ada Lovelace', hasDevice: false }],
      truncated: false,
    });
    expect(await listContacts({ baseUrl: gateway.url, token: patient.token })).toEqual({
      contacts: [{ userId: provider.id, kind: 'provider', displayName: 'Test provider', hasDevice: false }],
      truncated: false,
    });

    const identity = gateway.features.identity;
    const scheduler = await identity.users.createStaff({ username: `sched-${randomUUID().slice(0, 8)}`, displayName: 'Sam', role: 'scheduler', passwordHash: await hashPassword(STAFF_PASSWORD), createdBy: null });
    const session = await identity.sessions.create({ kind: 'staff', userId: scheduler.id, role: 'scheduler', patientId: null, scope: null, appointmentId: null });
    const refused = await listContacts({ baseUrl: gateway.url, token: session.token }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(SdkError);
    expect(refused).toMatchObject({ status: 403, code: 'forbidden' });
  });
});
