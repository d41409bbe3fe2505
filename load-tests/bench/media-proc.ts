/**
 * Readings `bench media` takes from the kernel rather than from the processes it measures: a
 * process's CPU time (/proc/<pid>/stat, all threads) and the per-socket UDP drop counters
 * (/proc/net/udp), which say whose receive queue overflowed when packets go missing.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface CpuTime {
  readonly userSeconds: number;
  readonly systemSeconds: number;
}

export function cpuTime(pid: number): CpuTime {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state field (3).
  return { userSeconds: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, systemSeconds: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
}

/** Datagrams the kernel dropped on arrival at the loopback UDP sockets bound to `ports`, summed. */
export function udpDrops(ports: ReadonlySet<number>): number {
  const lines = readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1);
  let drops = 0;
  for (const line of lines) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (local === undefined) continue;
    const port = Number.parseInt(local.split(':')[1] ?? '', 16);
    if (ports.has(port)) drops += Number(cols[12] ?? 0);
  }
  return drops;
}

/**
 * Shared libraries a process has mapped whose file names match `pattern`: which SRTP and crypto
 * code the worker really runs (a source build against system libraries may differ from the
 * official prebuilt, which links libsrtp and OpenSSL statically).
 */
export function mappedLibraries(pid: number, pattern: RegExp): string[] {
  const names = new Set<string>();
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const file = line.split(/\s+/)[5];
    const name = file?.split('/').at(-1);
    if (name !== undefined && file?.startsWith('/') === true && pattern.test(name)) names.add(name);
  }
  return [...names].sort();
}

export interface HostCpu {
  readonly busy: number;
  /** Interrupt and softirq time: with IRQ time accounting, loopback packet delivery lands here, not in any process. */
  readonly irq: number;
  readonly total: number;
}

/** Machine-wide CPU ticks (all cores): other work on the box shows as busy time nobody measured owns. */
export function hostCpu(): HostCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu  user nice system idle iowait irq softirq steal …
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: total - idle, irq: (ticks[5] ?? 0) + (ticks[6] ?? 0), total };
}
