import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

/** The built `jarvis` binary, as a user runs it (`npm test` builds dist/ first). */
export const JARVIS_BIN = fileURLToPath(new URL('../../bin/jarvis.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a machine where nothing about Jarvis is configured: the developer's own LLM, Hub and
 * Jarvis settings must not leak into a test. `home` holds the config and cache folders a run may look at.
 */
export function cleanEnvironment(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(JARVIS_|OPENAI_|HF_|HUGGING)/.test(key)) env[key] = value;
  }
  return {
    ...env,
    NO_COLOR: '1',
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'user-cache'),
    // With no LLM configured Jarvis would download its 2.5 GB default model on the first LLM call; a test that
    // wants that points HF_ENDPOINT at a loopback Hub and sets this back to 1.
    JARVIS_LLM_AUTO_DOWNLOAD: '0',
    ...extra,
  };
}

/** `jarvis run --plan FILE` with these needs no LLM at all: the top candidate, no answer, JSON out. */
export const NO_LLM_FLAGS = ['--select', 'top', '--no-answer', '--json'];

export interface StartedJarvis {
  child: ChildProcess;
  /** Output so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code and the whole output, once the process has ended. */
  done: Promise<CliResult>;
}

/** Starts `jarvis ARGS` in `cwd` (for tests that signal it while it runs); `input` is written to its stdin. */
export function startJarvis(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string },
): StartedJarvis {
  const child = spawn(process.execPath, [JARVIS_BIN, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<CliResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
  child.stdin?.end(options.input ?? '');
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
  };
}

/** Runs `jarvis ARGS` in `cwd` and collects its exit code and output; `input` is written to its stdin. */
export function runJarvis(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string },
): Promise<CliResult> {
  return startJarvis(args, options).done;
}

/**
 * `jarvis ARGS` in this process (the CLI's `main`, with its output collected): for tests that need the source
 * under test rather than the built binary, or that run many commands cheaply.
 */
export async function runMain(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await main(args, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    cwd: options.cwd,
    env: options.env,
  });
  return { code, stdout: out, stderr: err };
}
