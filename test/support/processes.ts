import { readFileSync } from 'node:fs';

/** Whether a process still runs: a killed child that nobody reaped yet is a zombie, which uses nothing any more. */
export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** Waits up to `ms` for a process to end; whether it did. */
export async function ended(pid: number, ms = 2_000): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < ms; )
    if (isRunning(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
    else return true;
  return !isRunning(pid);
}
