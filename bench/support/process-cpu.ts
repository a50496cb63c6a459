/** CPU time of other processes on this machine, from /proc: where a benchmark's work goes across the mesh's processes and Postgres. */
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100;

/** CPU seconds (user + system, all threads) of a process so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Postgres' server processes on this machine (the postmaster, its backends and helpers). */
export function postgresPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres'; } catch { return false; }
  });
}

/** Processes measured together under one name (their pids looked up at the start and at the end). */
export interface CpuGroup {
  name: string;
  pids: () => number[];
}

/**
 * CPU seconds each group spent while `work` ran. Processes that appear meanwhile (Postgres
 * backends come and go with connections) count from 0.
 */
export async function cpuDuring<T>(groups: readonly CpuGroup[], work: () => Promise<T>): Promise<{ result: T; cpu: Record<string, number> }> {
  const before = new Map<number, number>();
  for (const g of groups) for (const pid of g.pids()) before.set(pid, cpuSeconds(pid));
  const result = await work();
  const cpu: Record<string, number> = {};
  for (const g of groups) cpu[g.name] = g.pids().reduce((sum, pid) => sum + cpuSeconds(pid) - (before.get(pid) ?? 0), 0);
  return { result, cpu };
}
