/**
 * Starts a server script as a child process and waits for the port (optionally followed by a
 * token) it prints on its first stdout line. Every child is remembered and killed on exit, whatever happens to the harness.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildServer {
  readonly name: string;
  readonly port: number;
  /** A credential the server printed after its port (`<port> <token>`), when it needs one. */
  readonly token: string | undefined;
  /** The child's process id (memory readings from /proc). */
  readonly pid: number;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

/** Kill every child still running (synchronous: safe in 'exit' and signal handlers). */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}
process.once('exit', killAllChildren);

const READY_TIMEOUT_MS = 20_000;

export async function startChildServer(name: string, script: string): Promise<ChildServer> {
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const lines = createInterface({ input: child.stdout });
  try {
    const [port, token] = await new Promise<[number, string | undefined]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no port within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name}: exited with code ${String(code)} before listening`));
      });
      lines.once('line', (line) => {
        clearTimeout(timer);
        const [first, second] = line.trim().split(' ');
        const n = Number(first);
        if (Number.isInteger(n) && n > 0) resolve([n, second]);
        else reject(new Error(`${name}: expected a port on stdout, got "${line.slice(0, 20)}"`));
      });
    });
    lines.close();
    child.stdout.resume();
    return { name, port, token, pid: child.pid ?? 0, stop: () => stopChild(child) };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
