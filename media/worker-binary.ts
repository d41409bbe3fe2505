/**
 * Which mediasoup-worker binary to run. In order: MEDIASOUP_WORKER_BIN; the binary
 * scripts/mediasoup/worker.sh cached outside the clone for this mediasoup version and shim set
 * (built from source where the official prebuilt cannot be downloaded); the package's own
 * prebuilt. None runnable → a typed error that says how to get one.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerBin as packageWorkerBin } from 'mediasoup';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD_SCRIPTS = join(ROOT, 'scripts', 'mediasoup');

export class WorkerBinaryMissingError extends Error {
  constructor(tried: readonly string[]) {
    super(
      `no runnable mediasoup-worker binary (looked at: ${tried.join(', ')}). ` +
        'Run `bash scripts/mediasoup/worker.sh` (it downloads or builds one and prints its path), or set MEDIASOUP_WORKER_BIN.',
    );
    this.name = 'WorkerBinaryMissingError';
  }
}

function mediasoupVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'mediasoup', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The cache path worker.sh uses: <cache>/mediasoup-worker/<version>-<key>/mediasoup-worker, the
 * key being the first 12 hex of sha256 over scripts/mediasoup/*.sh concatenated in name order.
 */
export function cachedWorkerBin(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env['TELEHEALTH_CACHE_DIR'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'telehealth');
  const hash = createHash('sha256');
  for (const f of readdirSync(BUILD_SCRIPTS).filter((n) => n.endsWith('.sh')).sort()) hash.update(readFileSync(join(BUILD_SCRIPTS, f)));
  return join(cacheRoot, 'mediasoup-worker', `${mediasoupVersion()}-${hash.digest('hex').slice(0, 12)}`, 'mediasoup-worker');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function resolveWorkerBin(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [explicit, env['MEDIASOUP_WORKER_BIN'], cachedWorkerBin(env), packageWorkerBin].filter((p): p is string => typeof p === 'string' && p !== '');
  const found = candidates.find(executable);
  if (found === undefined) throw new WorkerBinaryMissingError(candidates);
  return found;
}
