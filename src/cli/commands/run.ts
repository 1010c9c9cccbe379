import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CancelledError, errorMessage, PlanError } from '../../core/errors.js';
import type { RunResult } from '../../core/events.js';
import type { TaskGraph } from '../../core/graph.js';
import { planFromFile } from '../../plan/index.js';
import type { Jarvis } from '../../run/index.js';
import type { RunOptions } from '../../run/types.js';
import {
  type CliIo,
  checkFilesNamedIn,
  filesNamedIn,
  jarvisFor,
  namedFiles,
  notices,
  UsageError,
} from '../context.js';
import { EXIT_OK, EXIT_PARTIAL } from '../exit-codes.js';
import type { RunFlags } from '../parse.js';

export { EXIT_PARTIAL } from '../exit-codes.js';

export function exitCodeFor(result: RunResult): number {
  const problems = result.errors.length > 0 || result.tasks.some((task) => task.status !== 'succeeded');
  // 0 all tasks succeeded; 3 the run finished with failed or skipped tasks or a stage error.
  return problems ? EXIT_PARTIAL : EXIT_OK;
}

/**
 * The task graph of `--plan FILE`. The file is part of the command line: one that is missing, not JSON or not a
 * valid plan (an unknown task, a bad reference) is a usage error (exit 2), said in one line before anything runs.
 */
export async function readPlanFile(path: string, cwd: string): Promise<TaskGraph> {
  const full = resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(error);
    throw new UsageError(`--plan ${path}: ${reason} (${full})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--plan ${path}: not valid JSON: ${errorMessage(error)}`);
  }
  try {
    return planFromFile(json);
  } catch (error) {
    if (error instanceof PlanError) throw new UsageError(`--plan ${path}: ${errorMessage(error)}`);
    throw error;
  }
}

/** Runs one request with the live view (or JSON), for `jarvis run` and each turn of `jarvis chat`. */
export async function runOnce(
  jarvis: Jarvis,
  options: Omit<RunOptions, 'onEvent' | 'signal'>,
  flags: Pick<RunFlags, 'json'>,
  io: CliIo,
): Promise<RunResult> {
  // The live view (and its terminal libraries) is loaded only when it is shown: --json prints one object.
  const view = flags.json
    ? undefined
    : (await import('../progress.js')).createProgressView(io.stdout, io.cwd);
  const toStderr = notices.write;
  if (view) notices.write = (message) => view.notice(message);
  try {
    return await jarvis.run({
      ...options,
      signal: io.signal,
      ...(view ? { onEvent: (event) => view.onEvent(event) } : {}),
    });
  } finally {
    view?.stop();
    notices.write = toStderr;
  }
}

export async function runCommand(request: string, flags: RunFlags, io: CliIo): Promise<number> {
  const plan = flags.plan ? await readPlanFile(flags.plan, io.cwd) : undefined;
  if (!plan && request.trim() === '') throw new UsageError('Nothing to do: give a request, or --plan FILE.');
  const files = namedFiles(flags.file, io.cwd);
  if (!plan) checkFilesNamedIn(request, io.cwd);
  const jarvis = await jarvisFor(flags, io);
  try {
    let result: RunResult;
    try {
      result = await runOnce(
        jarvis,
        {
          request,
          cwd: io.cwd,
          inputFiles: [...filesNamedIn(request, io.cwd), ...files],
          answer: flags.answer,
          ...(plan ? { plan } : {}),
          ...(flags.select ? { select: flags.select } : {}),
        },
        flags,
        io,
      );
    } catch (error) {
      // Ctrl-C: report what the run did before stopping, then exit 130 (main prints "cancelled").
      if (error instanceof CancelledError && error.partial) report(error.partial, flags, io);
      throw error;
    }
    report(result, flags, io);
    return exitCodeFor(result);
  } finally {
    await jarvis.close();
  }
}

/** The run's outcome: the JSON object, or a closing summary under the progress view. */
function report(result: RunResult, flags: Pick<RunFlags, 'json'>, io: CliIo): void {
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const files = result.tasks.flatMap((task) =>
    task.status === 'succeeded' ? (task.output.artifacts ?? []).map((artifact) => artifact.path) : [],
  );
  if (files.length > 0) io.stdout.write(`\nFiles: ${result.outputDir}\n`);
  io.stdout.write(
    `\n${result.tasks.filter((task) => task.status === 'succeeded').length}/${result.tasks.length} tasks succeeded, ` +
      `${result.usage.llmCalls} LLM calls, ${result.usage.inputTokens} tokens in, ${result.usage.outputTokens} out, ` +
      `${(result.durationMs / 1000).toFixed(1)}s\n`,
  );
}
