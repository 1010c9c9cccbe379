import type { CliIo } from '../context.js';
import type { CommonFlags } from '../parse.js';

/** `jarvis serve`: the HTTP API and web UI. */
export async function serveCommand(
  flags: CommonFlags & { host?: string; port?: number },
  io: CliIo,
): Promise<number> {
  void flags;
  io.stderr.write('jarvis: serve is not wired yet\n');
  return 1;
}
