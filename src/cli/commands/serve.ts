import { configFromEnv, mergeLayers } from '../../config/load.js';
import { startServer } from '../../server/index.js';
import { type CliIo, configFor } from '../context.js';
import { type CommonFlags, flagsToConfig } from '../parse.js';

/** `jarvis serve`: the HTTP API and web UI, until Ctrl-C. */
export async function serveCommand(
  flags: CommonFlags & { host?: string; port?: number; queue?: string },
  io: CliIo,
): Promise<number> {
  const { config } = configFor(flags, io);
  // What the environment and flags set wins over settings saved from the web UI (the config file does not).
  const explicit = mergeLayers(configFromEnv(io.env), flagsToConfig(flags));
  const server = await startServer({ config, explicit });
  io.stdout.write(
    `Jarvis is serving on ${server.url} (web UI at ${server.url}/, API under ${server.url}/v1)\n`,
  );
  if (config.queue.url) {
    io.stdout.write(
      `Tasks go to \`jarvis worker --queue ${config.queue.url.replace(/\/\/[^@/]*@/, '//***@')} --server ${server.url}\`s when one offers the model (GET /v1/workers lists them).\n`,
    );
  }
  io.stdout.write('Ctrl-C to stop.\n');
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  return 0;
}
