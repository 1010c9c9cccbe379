import { JarvisError } from '../core/errors.js';

/**
 * The exit codes the README promises, in one place so that every command and the tests agree:
 * 0 everything succeeded; 3 the run finished but a task failed or was skipped, or a stage failed;
 * 1 Jarvis could not run (configuration, unreachable LLM, nothing can run); 2 bad command line; 130 cancelled.
 */
export const EXIT_OK = 0;
export const EXIT_CANNOT_RUN = 1;
export const EXIT_USAGE = 2;
export const EXIT_PARTIAL = 3;
export const EXIT_CANCELLED = 130;

/** The command line asks for something that cannot be done as asked; the CLI exits with code 2. */
export class UsageError extends JarvisError {
  constructor(message: string) {
    super('usage', message);
  }
}
