import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { JarvisConfig } from '../config/schema.js';
import { similarFileNames } from '../execute/inputs.js';
import { mimeTypeFromExtension } from '../media/types.js';
import { createJarvis, type Jarvis } from '../run/index.js';
import { UsageError } from './exit-codes.js';
import { type CommonFlags, flagsToConfig, type RunFlags } from './parse.js';

/** What a command may touch: its streams, working directory, environment and the Ctrl-C signal. */
export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
}

export function configFor(
  flags: CommonFlags & Partial<RunFlags>,
  io: CliIo,
): { config: JarvisConfig; file?: string } {
  return loadConfig({
    cwd: io.cwd,
    env: io.env,
    flags: flagsToConfig(flags),
    ...(flags.config ? { configFile: flags.config } : {}),
  });
}

/**
 * Where one-time notices of the pipeline go: stderr, or, while a live progress view is on screen, through
 * that view (a line written past it would break its redrawing).
 */
export const notices = {
  write: (message: string): void => {
    process.stderr.write(`jarvis: ${message}\n`);
  },
};

export async function jarvisFor(flags: CommonFlags & Partial<RunFlags>, io: CliIo): Promise<Jarvis> {
  return createJarvis(configFor(flags, io).config, { onNotice: (message) => notices.write(message) });
}

export { UsageError } from './exit-codes.js';

const PATH_TOKEN =
  /(?:^|[\s"'(`])((?:~|\.{1,2})?\/?(?:[\w.@+-]+\/)*[\w@+-][\w.@+-]*\.[A-Za-z0-9]{1,5})(?=$|[\s"'`),;:?!])/g;

/** Every path-like word of a request (URLs left out), with the path it names from the working directory. */
function* namedPaths(request: string, cwd: string): Generator<{ token: string; path: string }> {
  for (const match of request.matchAll(PATH_TOKEN)) {
    const token = match[1];
    if (!token || /^https?:/i.test(token)) continue;
    yield { token, path: resolve(cwd, token.replace(/^~(?=\/)/, process.env.HOME ?? '~')) };
  }
}

/** Files the request names that exist, resolved from the working directory: the user may use them as inputs. */
export function filesNamedIn(request: string, cwd: string): string[] {
  const found = new Set<string>();
  for (const { path } of namedPaths(request, cwd)) {
    try {
      if (existsSync(path) && statSync(path).isFile()) found.add(path);
    } catch {
      // unreadable: the executor will report it if the plan uses it
    }
  }
  return [...found];
}

/** A name a request uses as an input file: media, or plain text. */
const isInputName = (name: string) =>
  /^(image\/|audio\/|video\/|text\/plain)/.test(mimeTypeFromExtension(name) ?? '');

export interface MisspeltFile {
  named: string;
  meant: string[];
}

/**
 * Files the request names that do not exist but are a typo away from one that does ("kitee.jpg" beside
 * "kite.jpg"): checked before any LLM call, so the user hears it at once instead of after planning. A name
 * with no close match is left alone: it may be a file the user wants Jarvis to make.
 */
export function misspeltFilesIn(request: string, cwd: string): MisspeltFile[] {
  const problems: MisspeltFile[] = [];
  for (const { token, path } of namedPaths(request, cwd)) {
    if (!isInputName(token) || existsSync(path)) continue;
    const meant = similarFileNames(path).map((name) => join(dirname(token), name).replace(/^\.\//, ''));
    if (meant.length > 0) problems.push({ named: token, meant });
  }
  return problems;
}

export function misspeltFileMessage({ named, meant }: MisspeltFile): string {
  return `no file "${named}" here; did you mean ${meant.map((name) => `"${name}"`).join(' or ')}?`;
}

/** Throws the usage error for misspelt file names in a request, if any. */
export function checkFilesNamedIn(request: string, cwd: string): void {
  const problems = misspeltFilesIn(request, cwd);
  if (problems.length > 0) throw new UsageError(problems.map(misspeltFileMessage).join('\n'));
}

/** `--file` paths, resolved from the working directory; each must be an existing file. */
export function namedFiles(files: readonly string[], cwd: string): string[] {
  return files.map((file) => {
    const path = resolve(cwd, file);
    if (!existsSync(path) || !statSync(path).isFile())
      throw new UsageError(`--file ${file}: no such file (${path})`);
    return path;
  });
}
