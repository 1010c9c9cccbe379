import { createInterface } from 'node:readline/promises';
import { CancelledError, errorMessage } from '../../core/errors.js';
import type { ChatMessage } from '../../core/llm.js';
import { requireController } from '../../llm/index.js';
import { historyEntry } from '../../run/history.js';
import {
  type CliIo,
  filesNamedIn,
  jarvisFor,
  misspeltFileMessage,
  misspeltFilesIn,
  namedFiles,
  UsageError,
} from '../context.js';
import type { RunFlags } from '../parse.js';
import { runOnce } from './run.js';

/**
 * `jarvis chat`: a conversation. Each turn is a full run that sees the earlier turns, their results and files.
 * Ctrl-C during a turn cancels that turn; Ctrl-C or Ctrl-D at the prompt ends the chat.
 */
export async function chatCommand(flags: RunFlags, io: CliIo): Promise<number> {
  if (flags.plan) throw new UsageError('--plan is for jarvis run: a chat plans each turn itself.');
  const inputFiles = namedFiles(flags.file, io.cwd);
  const jarvis = await jarvisFor(flags, io);
  requireController(jarvis.controller, 'Chat');
  const history: ChatMessage[] = [];
  const prompt = createInterface({ input: io.stdin, output: io.stdout, terminal: Boolean(io.stdin.isTTY) });
  let turn: AbortController | undefined;
  // On a terminal readline turns Ctrl-C into this event: it cancels the running turn, or ends the chat at the prompt.
  prompt.on('SIGINT', () => (turn ? turn.abort() : prompt.close()));
  io.stdout.write('Jarvis chat. Name files relative to this folder; /exit or Ctrl-D to leave.\n');
  prompt.setPrompt('\nyou> ');
  prompt.prompt();
  try {
    // The async iterator queues lines typed (or piped) while a turn runs, so none is lost.
    for await (const raw of prompt) {
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      const misspelt = line === '' ? [] : misspeltFilesIn(line, io.cwd);
      if (misspelt.length > 0) {
        for (const problem of misspelt) io.stderr.write(`jarvis: ${misspeltFileMessage(problem)}\n`);
      } else if (line !== '') {
        inputFiles.push(...filesNamedIn(line, io.cwd));
        const current = new AbortController();
        turn = current;
        const onInterrupt = () => current.abort();
        process.once('SIGINT', onInterrupt);
        try {
          const result = await runOnce(
            jarvis,
            {
              request: line,
              history: [...history],
              cwd: io.cwd,
              inputFiles,
              answer: flags.answer,
              ...(flags.select ? { select: flags.select } : {}),
            },
            flags,
            { ...io, signal: AbortSignal.any([io.signal, current.signal]) },
          );
          if (flags.json) io.stdout.write(`${JSON.stringify(result)}\n`);
          history.push(
            { role: 'user', content: line },
            { role: 'assistant', content: historyEntry(result, io.cwd) },
          );
        } catch (error) {
          if (error instanceof CancelledError || current.signal.aborted) io.stdout.write('\n(cancelled)\n');
          else io.stderr.write(`jarvis: ${errorMessage(error)}\n`);
        } finally {
          process.removeListener('SIGINT', onInterrupt);
          turn = undefined;
        }
        if (io.signal.aborted) break;
      }
      prompt.prompt();
    }
  } finally {
    prompt.close();
    await jarvis.close();
  }
  return 0;
}
