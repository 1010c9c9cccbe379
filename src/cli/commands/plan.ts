import { requireController } from '../../llm/index.js';
import { type CliIo, jarvisFor } from '../context.js';
import type { CommonFlags } from '../parse.js';

/** `jarvis plan`: stage 1 only, like HuggingGPT's /tasks. Prints the task graph as JSON. */
export async function planCommand(
  request: string,
  flags: CommonFlags & { json: boolean },
  io: CliIo,
): Promise<number> {
  const jarvis = await jarvisFor(flags, io);
  try {
    requireController(jarvis.controller, 'Planning');
    const outcome = await jarvis.plan(request, [], io.signal);
    io.stdout.write(`${JSON.stringify(outcome.plan, null, flags.json ? undefined : 2)}\n`);
    if (!outcome.ok) {
      io.stderr.write(
        `jarvis: the LLM's plan stayed invalid after one repair: ${outcome.problems.join('; ')}\n`,
      );
      return 3;
    }
    return 0;
  } finally {
    await jarvis.close();
  }
}
