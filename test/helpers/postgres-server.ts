/**
 * A throwaway PostgreSQL cluster for the test run: initdb into a temp dir, `postgres` on a free
 * loopback port, removed afterwards. As root (CI), the server runs as the `postgres` system
 * user, because PostgreSQL refuses to run as root. TEST_DATABASE_URL skips all of this.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, sleep } from '../../core/net.ts';

export interface TestPostgres {
  readonly url: string;
  close(): Promise<void>;
}

/** The PostgreSQL server binaries: $PG_BIN, the newest /usr/lib/postgresql/<v>/bin, or the PATH. */
export function findBinDir(): string {
  if (process.env['PG_BIN']) return process.env['PG_BIN'];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return path.dirname(which.stdout.trim());
  throw new Error('PostgreSQL not found: install it (apt-get install -y postgresql) or set TEST_DATABASE_URL');
}

/** PostgreSQL refuses to run as root: as root (CI), run it as the `postgres` system user. */
export function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function pgUserIds(): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('running as root needs the postgres system user (apt-get install -y postgresql)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const fromEnv = process.env['TEST_DATABASE_URL'];
  if (fromEnv) return { url: fromEnv, close: () => Promise.resolve() };

  const bin = findBinDir();
  const base = mkdtempSync(path.join(tmpdir(), 'telehealth-pg-'));
  const dataDir = path.join(base, 'data');
  if (process.getuid?.() === 0) {
    const { uid, gid } = pgUserIds();
    chownSync(base, uid, gid);
  }
  const [icmd, iargs] = asPostgresUser(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const init = spawnSync(icmd, iargs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);

  const port = await freePort();
  const [pcmd, pargs] = asPostgresUser(path.join(bin, 'postgres'), [
    '-D', dataDir, '-p', String(port), '-k', base, '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
  ]);
  const child: ChildProcess = spawn(pcmd, pargs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited = false;
  const exitedP = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`postgres exited: ${stderr}`);
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      break;
    } catch {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${stderr}`);
      await sleep(100);
    }
  }
  return {
    url,
    async close() {
      if (!exited) {
        // Signal the postmaster itself: as root the child is `runuser`, which ignores SIGINT.
        // SIGINT = PostgreSQL's "fast" shutdown; runuser exits when postgres does.
        const pid = Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
        if (Number.isInteger(pid) && pid > 1) process.kill(pid, 'SIGINT');
        else child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exitedP;
        clearTimeout(t);
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}
