import { statSync } from 'node:fs';
import { parse, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { pipelineHost } from '../../mcp/host.js';
import { createJarvisMcpServer } from '../../mcp/server.js';
import { type CliIo, jarvisFor, UsageError } from '../context.js';
import type { CommonFlags } from '../parse.js';

/**
 * Everything but the protocol leaves stdout: a library that prints with console.log or writes to
 * process.stdout would corrupt the JSON-RPC stream a desktop client reads, so such writes go to stderr and
 * only the transport writes to the real stdout.
 */
function protocolOnlyStdout(io: CliIo): { protocol: Writable; restore: () => void } {
  const stdout = io.stdout;
  const realWrite = stdout.write.bind(stdout);
  const protocol = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      realWrite(chunk, (error) => callback(error ?? null));
    },
  });
  const consoleLog = console.log;
  const consoleInfo = console.info;
  const consoleDebug = console.debug;
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;
  stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    io.stderr.write(chunk, ...rest)) as typeof stdout.write;
  return {
    protocol,
    restore: () => {
      stdout.write = realWrite;
      console.log = consoleLog;
      console.info = consoleInfo;
      console.debug = consoleDebug;
    },
  };
}

/**
 * `jarvis mcp`: Jarvis as an MCP server over stdio, until the client closes the pipe or Ctrl-C. It runs as if
 * started in `--root` (default: the working directory): tools read files under it, and the config file and
 * data folder are found from it. Desktop clients often start servers in `/`, where that would be every file.
 */
export async function mcpCommand(flags: CommonFlags & { root?: string }, io: CliIo): Promise<number> {
  const root = resolve(io.cwd, flags.root ?? '.');
  if (parse(root).root === root) {
    throw new UsageError(
      `jarvis mcp would let its tools read every file under ${root}: pass --root with the folder they may read`,
    );
  }
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--root ${flags.root ?? root}: no such folder (${root})`);
  }
  const { protocol, restore } = protocolOnlyStdout(io);
  try {
    const jarvis = await jarvisFor(flags, { ...io, cwd: root });
    try {
      const server = await createJarvisMcpServer({ host: pipelineHost(jarvis, root) });
      const transport = new StdioServerTransport(io.stdin, protocol);
      const closed = new Promise<void>((resolve) => {
        transport.onclose = () => resolve();
        io.stdin.once('end', () => resolve());
        io.stdin.once('close', () => resolve());
        if (io.signal.aborted) resolve();
        else io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await server.connect(transport);
      io.stderr.write('jarvis: MCP server on stdio (tools: one per runnable task, and `jarvis`)\n');
      await closed;
      await server.close().catch(() => {});
    } finally {
      await jarvis.close();
    }
    return 0;
  } finally {
    restore();
  }
}
