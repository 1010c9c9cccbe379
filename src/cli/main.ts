import { CancelledError, errorMessage, JarvisError } from '../core/errors.js';
import type { CliIo } from './context.js';
import { EXIT_CANCELLED, EXIT_CANNOT_RUN, EXIT_USAGE, UsageError } from './exit-codes.js';
import { parseArgs } from './parse.js';

export { EXIT_CANCELLED } from './exit-codes.js';

/** The CLI: parses argv, runs one command, returns the exit code. Never calls process.exit. */
export async function main(argv: string[], io?: Partial<CliIo>): Promise<number> {
  const parsed = parseArgs(argv);
  const interrupt = new AbortController();
  const context: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
    env: process.env,
    signal: interrupt.signal,
    ...io,
  };
  // `jarvis models | head` closes the pipe early: the reader has what it wanted, so end quietly instead of
  // crashing with an EPIPE stack trace.
  if (context.stdout === process.stdout && process.stdout.listenerCount('error') === 0) {
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  if (parsed.command === 'exit') {
    (parsed.code === 0 ? context.stdout : context.stderr).write(parsed.output);
    return parsed.code;
  }
  // First Ctrl-C cancels the run cleanly (running tasks are aborted, results so far reported); a second one quits.
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts += 1;
    if (interrupts === 1) {
      context.stderr.write(
        `\njarvis: ${parsed.command === 'serve' || parsed.command === 'worker' ? 'stopping' : 'cancelling'} (Ctrl-C again to quit now)\n`,
      );
      interrupt.abort();
    } else {
      process.exit(EXIT_CANCELLED);
    }
  };
  if (parsed.command !== 'chat') process.on('SIGINT', onInterrupt);
  // Each command's module is imported only when that command runs: `--help` and `--version` must not pay for
  // the pipeline, its backends and their libraries (hundreds of modules, over a second of start-up).
  try {
    switch (parsed.command) {
      case 'run':
        return await (await import('./commands/run.js')).runCommand(parsed.request, parsed.flags, context);
      case 'plan':
        return await (await import('./commands/plan.js')).planCommand(parsed.request, parsed.flags, context);
      case 'chat':
        return await (await import('./commands/chat.js')).chatCommand(parsed.flags, context);
      case 'models':
        return await (await import('./commands/models.js')).modelsCommand(parsed.flags, context);
      case 'doctor':
        return await (await import('./commands/doctor.js')).doctorCommand(parsed.flags, context);
      case 'pull':
        return await (await import('./commands/pull.js')).pullCommand(parsed.model, parsed.flags, context);
      case 'serve':
        return await (await import('./commands/serve.js')).serveCommand(parsed.flags, context);
      case 'worker':
        return await (await import('./commands/worker.js')).workerCommand(parsed.flags, context);
      case 'mcp':
        return await (await import('./commands/mcp.js')).mcpCommand(parsed.flags, context);
      case 'eval':
        return await (await import('./commands/eval.js')).evalCommand(
          parsed.benchmark,
          parsed.flags,
          context,
        );
    }
  } catch (error) {
    if (
      error instanceof CancelledError ||
      (interrupt.signal.aborted && parsed.command !== 'serve' && parsed.command !== 'worker')
    ) {
      context.stderr.write('jarvis: cancelled\n');
      return EXIT_CANCELLED;
    }
    // Expected failures get one clear line; anything else is a bug, and its stack helps the report.
    if (error instanceof UsageError) {
      context.stderr.write(`jarvis: ${errorMessage(error)}\n`);
      return EXIT_USAGE;
    }
    // A system error (a port in use, a folder that is a file) is the user's to fix: its message says enough.
    if (error instanceof JarvisError || isSystemError(error)) {
      context.stderr.write(`jarvis: ${errorMessage(error)}\n`);
    } else {
      context.stderr.write(
        `jarvis: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    return EXIT_CANNOT_RUN;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}
