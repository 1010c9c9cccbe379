import { CancelledError, errorMessage, JarvisError } from '../core/errors.js';
import { chatCommand } from './commands/chat.js';
import { doctorCommand } from './commands/doctor.js';
import { modelsCommand } from './commands/models.js';
import { planCommand } from './commands/plan.js';
import { pullCommand } from './commands/pull.js';
import { runCommand } from './commands/run.js';
import { type CliIo, UsageError } from './context.js';
import { parseArgs } from './parse.js';

export const EXIT_CANCELLED = 130;

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
        `\njarvis: ${parsed.command === 'serve' ? 'stopping' : 'cancelling'} (Ctrl-C again to quit now)\n`,
      );
      interrupt.abort();
    } else {
      process.exit(EXIT_CANCELLED);
    }
  };
  if (parsed.command !== 'chat') process.on('SIGINT', onInterrupt);
  try {
    switch (parsed.command) {
      case 'run':
        return await runCommand(parsed.request, parsed.flags, context);
      case 'plan':
        return await planCommand(parsed.request, parsed.flags, context);
      case 'chat':
        return await chatCommand(parsed.flags, context);
      case 'models':
        return await modelsCommand(parsed.flags, context);
      case 'doctor':
        return await doctorCommand(parsed.flags, context);
      case 'pull':
        return await pullCommand(parsed.model, parsed.flags, context);
      case 'serve':
        // Loaded on demand: the server and its database client are not needed by the other commands.
        return await (await import('./commands/serve.js')).serveCommand(parsed.flags, context);
    }
  } catch (error) {
    if (error instanceof CancelledError || (interrupt.signal.aborted && parsed.command !== 'serve')) {
      context.stderr.write('jarvis: cancelled\n');
      return EXIT_CANCELLED;
    }
    // Expected failures get one clear line; anything else is a bug, and its stack helps the report.
    if (error instanceof UsageError) {
      context.stderr.write(`jarvis: ${errorMessage(error)}\n`);
      return 2;
    }
    // A system error (a port in use, a folder that is a file) is the user's to fix: its message says enough.
    if (error instanceof JarvisError || isSystemError(error)) {
      context.stderr.write(`jarvis: ${errorMessage(error)}\n`);
    } else {
      context.stderr.write(
        `jarvis: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    return 1;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}
