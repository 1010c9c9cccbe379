import { readFileSync } from 'node:fs';
import { childProcesses } from '../../src/core/processes.js';

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

/** This process's children still running whose command name starts with `name` (Linux; elsewhere none). */
export function runningChildren(name: string): number[] {
  return childProcesses()
    .filter(({ command, state }) => state !== 'Z' && command.startsWith(name))
    .map(({ pid }) => pid);
}
