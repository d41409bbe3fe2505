// THE key test of PHI encryption at rest (HIPAA 164.312(a)(2)(iv)): dump the whole database —
// the real pg_dump on PostgreSQL, every table's rows as text on PGlite — and find no PHI in it,
// in plain text, lower case, phone digits, hex (how a dump shows bytea) or base64.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Db } from '../db/types.ts';
import { ENGINES, testDbPerTest } from '../../test/helpers/databases.ts';
import { CLI_CTX, distinctivePatient, storeOn } from './test-fixtures/patients.ts';

const run = promisify(execFile);

function pgDumpBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_dump')))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('pg_dump not found under /usr/lib/postgresql/*/bin');
  return path.join(root, versions[0], 'bin', 'pg_dump');
}

async function dumpPostgres(url: string): Promise<string> {
  const { stdout } = await run(pgDumpBin(), ['--no-owner', '--no-privileges', url], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

async function dumpPglite(db: Db): Promise<string> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await db.query<{ t: string }>(`SELECT t::text AS t FROM "${table_name}" t`);
    parts.push(`-- ${table_name}`, ...rows.map((r) => r.t));
  }
  return parts.join('\n');
}

/** Every form in which `value` would betray itself in a dump; returns the forms found. */
export function leaks(dump: string, value: string): string[] {
  const lower = dump.toLowerCase();
  const forms = new Set([value, value.toLowerCase(), Buffer.from(value).toString('hex'), Buffer.from(value).toString('base64')]);
  const digits = value.replace(/\D/g, '');
  if (digits.length >= 7 && /^\+?[\d ()-]+$/.test(value)) forms.add(digits);
  return [...forms].filter((f) => (f === f.toLowerCase() ? lower.includes(f) : dump.includes(f)));
}

describe('leaks()', () => {
  it('finds a value in plain, lower-case, hex and base64 form, and phone digits', () => {
    expect(leaks('x Zebulon x', 'Zebulon')).toContain('Zebulon');
    expect(leaks('zebulon', 'Zebulon')).toEqual(['zebulon']);
    expect(leaks(`\\x${Buffer.from('Zebulon').toString('hex')}`, 'Zebulon')).toHaveLength(1);
    expect(leaks(Buffer.from('Zebulon').toString('base64'), 'Zebulon')).toHaveLength(1);
    expect(leaks('call 15551234567', '+15551234567')).toEqual(['15551234567']);
    expect(leaks('nothing here', 'Zebulon')).toEqual([]);
  });
});

describe.each(ENGINES)('PHI at rest (%s)', (kind) => {
  const open = testDbPerTest(kind);

  it('no patient PHI appears anywhere in a full database dump', async () => {
    const t = await open();
    const { db } = t;
    const { store, cipher } = storeOn(db);
    const people = [distinctivePatient(), distinctivePatient(), distinctivePatient(), distinctivePatient()];
    const ids: string[] = [];
    for (const p of people) ids.push((await store.create(p, CLI_CTX)).id);
    const [first, second, third] = ids;
    if (!first || !second || !third) throw new Error('patients not created');

    // An update (new ciphertexts), a break-glass reason under the patient key, and a shredded patient.
    const newEmail = `renamed.${randomUUID().slice(0, 8)}@example.org`;
    await store.update(first, { email: newEmail }, CLI_CTX);
    const providerId = randomUUID();
    await db.query(`INSERT INTO users (id, kind, role, username, display_name) VALUES ($1, 'staff', 'provider', $2, 'Dr Test')`, [providerId, `dr-${providerId.slice(0, 8)}`]);
    const reason = `Unconscious in ER bed ${randomUUID().slice(0, 6)}, suspected overdose`;
    await db.query(
      `INSERT INTO break_glass (id, provider_id, patient_id, reason, expires_at) VALUES ($1, $2, $3, $4, now() + interval '1 hour')`,
      [randomUUID(), providerId, second, await cipher.encrypt(second, 'break_glass.reason', reason)],
    );
    await store.erase(third, CLI_CTX);

    const dump = kind === 'postgres' ? await dumpPostgres(t.url ?? '') : await dumpPglite(db);

    // The dump really holds the patients and the audit trail, so an empty dump cannot pass.
    for (const id of ids) expect(dump, `patient id ${id}`).toContain(id);
    expect(dump).toContain('patient.crypto_shred');
    expect(dump).toContain('America/Chicago');

    const phi = [...people.flatMap((p) => [p.givenName, p.familyName, p.birthDate, p.phone, p.email, p.mrn]), newEmail, reason];
    const found = phi.flatMap((v) => leaks(dump, v).map((f) => `${v} as ${f}`));
    expect(found).toEqual([]);
  });
});
