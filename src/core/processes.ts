import { type ChildProcess, execFile } from 'node:child_process';
import { constants, readdirSync, readFileSync } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Programs an expert starts (pocketsphinx, flite) are announced here. In an expert worker the pool listens:
 * terminating a worker thread does not end the processes it started, so the main thread kills them itself.
 */
let listener: ((child: ChildProcess) => void) | undefined;

export function onChildProcess(next: ((child: ChildProcess) => void) | undefined): void {
  listener = next;
}

export function announceChildProcess(child: ChildProcess): void {
  listener?.(child);
}

const found = new Map<string, Promise<string | undefined>>();

/** The absolute path of an executable on PATH, or undefined; looked up once per process. */
export function findExecutable(name: string): Promise<string | undefined> {
  let result = found.get(name);
  if (!result) {
    result = (async () => {
      for (const dir of (process.env.PATH ?? '').split(delimiter)) {
        if (!dir) continue;
        const candidate = join(dir, name);
        try {
          await access(candidate, constants.X_OK);
          return candidate;
        } catch {
          // not in this folder
        }
      }
      return undefined;
    })();
    found.set(name, result);
  }
  return result;
}

/** Whether a file exists and can be read. */
export async function readable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export interface CommandResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs a program without a shell; cancelled with the signal; fails with its stderr on a non-zero exit. */
export function runCommand(
  file: string,
  args: string[],
  options: { signal?: AbortSignal; timeoutMs?: number; maxBytes?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        encoding: 'buffer',
        signal: options.signal,
        timeout: options.timeoutMs ?? 300_000,
        maxBuffer: options.maxBytes ?? 256 * 1024 * 1024,
        windowsHide: true,
        ...(options.env === undefined ? {} : { env: options.env }),
      },
      (error, stdout, stderr) => {
        const errorText = stderr.toString('utf8');
        if (error) {
          const detail = errorText.trim().split('\n').slice(-3).join(' ').slice(0, 500);
          reject(new Error(`${file} failed: ${detail || error.message}`, { cause: error }));
          return;
        }
        resolve({ stdout, stderr: errorText });
      },
    );
    announceChildProcess(child);
  });
}

/** A private temporary folder for one job, removed afterwards whatever happens. */
export async function withTemporaryFolder<T>(job: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'jarvis-local-'));
  try {
    return await job(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * CPU ms (user + system) that a process or thread has used, from its `stat` file in /proc (`/proc/<pid>/stat`,
 * `/proc/<pid>/task/<tid>/stat`): Linux counts it in ticks of 1/100 s (USER_HZ) on every architecture Node
 * runs on. Throws where the file cannot be read (not Linux, or the process has ended).
 */
export function procCpuMs(statFile: string): number {
  const { fields } = parseStat(readFileSync(statFile, 'utf8'));
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * A /proc `stat` file: the command name (in parentheses, which it may itself hold, as spaces) and the fields
 * after it, from field 3 of stat(5) on (state, ppid, ..., utime at index 11, stime at 12).
 */
function parseStat(stat: string): { command: string; fields: string[] } {
  const end = stat.lastIndexOf(')');
  return { command: stat.slice(stat.indexOf('(') + 1, end), fields: stat.slice(end + 2).split(' ') };
}

/** This process's child processes (Linux, from /proc; elsewhere none), zombies included (state `Z`). */
export function childProcesses(): { pid: number; command: string; state: string }[] {
  if (process.platform !== 'linux') return [];
  const children: { pid: number; command: string; state: string }[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { command, fields } = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (Number(fields[1]) === process.pid)
        children.push({ pid: Number(entry), command, state: fields[0] ?? '' });
    } catch {
      // ended meanwhile
    }
  }
  return children;
}
