import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { CancelledError, errorMessage } from '../../core/errors.js';
import type { ChatMessage } from '../../core/llm.js';
import { requireController } from '../../llm/index.js';
import { historyEntry } from '../../run/history.js';
import { type CliIo, filesNamedIn, jarvisFor } from '../context.js';
import type { RunFlags } from '../parse.js';
import { runOnce } from './run.js';

/**
 * `jarvis chat`: a conversation. Each turn is a full run that sees the earlier turns, their results and files.
 * Ctrl-C during a turn cancels that turn; Ctrl-C or Ctrl-D at the prompt ends the chat.
 */
export async function chatCommand(flags: RunFlags, io: CliIo): Promise<number> {
  const jarvis = await jarvisFor(flags, io);
  requireController(jarvis.controller, 'Chat');
  const history: ChatMessage[] = [];
  const inputFiles = flags.file.map((file) => resolve(io.cwd, file));
  const prompt = createInterface({ input: io.stdin, output: io.stdout, terminal: Boolean(io.stdin.isTTY) });
  io.stdout.write('Jarvis chat. Name files relative to this folder; /exit or Ctrl-D to leave.\n');
  try {
    for (;;) {
      let line: string;
      try {
        line = (await prompt.question('\nyou> ')).trim();
      } catch {
        break; // Ctrl-D or Ctrl-C at the prompt
      }
      if (line === '') continue;
      if (line === '/exit' || line === '/quit') break;
      inputFiles.push(...filesNamedIn(line, io.cwd));
      const turn = new AbortController();
      const onInterrupt = () => turn.abort();
      process.once('SIGINT', onInterrupt);
      try {
        const result = await runOnce(
          jarvis,
          {
            request: line,
            history: [...history],
            cwd: io.cwd,
            inputFiles,
            answer: true,
            ...(flags.select ? { select: flags.select } : {}),
          },
          flags,
          { ...io, signal: AbortSignal.any([io.signal, turn.signal]) },
        );
        if (flags.json) io.stdout.write(`${JSON.stringify(result)}\n`);
        history.push(
          { role: 'user', content: line },
          { role: 'assistant', content: historyEntry(result, io.cwd) },
        );
      } catch (error) {
        if (error instanceof CancelledError || turn.signal.aborted) {
          io.stdout.write('\n(cancelled)\n');
          continue;
        }
        io.stderr.write(`jarvis: ${errorMessage(error)}\n`);
      } finally {
        process.removeListener('SIGINT', onInterrupt);
      }
      if (io.signal.aborted) break;
    }
  } finally {
    prompt.close();
    await jarvis.close();
  }
  return 0;
}
