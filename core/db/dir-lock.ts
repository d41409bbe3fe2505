/**
 * An exclusive, PID-stamped lock file for a data directory. A lock left by a dead process is
 * taken over; a live holder produces a StartupError that says what to do.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { StartupError } from '../errors.ts';

export interface DirLock {
  readonly file: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireDirLock(dir: string, what: string): DirLock {
  const file = path.join(dir, '.telehealth.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(file);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(holder) && alive(holder)) {
        throw new StartupError(
          `the ${what} in ${dir} is in use by another telehealth process (pid ${holder === process.pid ? `${holder}, this one` : holder})`,
          'Stop that process first (or run this command through it), or point DATABASE_URL at PostgreSQL so several processes can share the database.',
        );
      }
      unlinkSync(file); // stale: its holder is gone
    }
  }
  throw new StartupError(`could not lock ${file}`, 'Remove the file if no telehealth process is running.');
}
