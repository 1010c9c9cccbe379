import { availableParallelism } from 'node:os';
import { createBackends } from '../../backends/registry.js';
import { ConfigError } from '../../core/errors.js';
import { startQueueWorker } from '../../queue/worker.js';
import { type CliIo, configFor } from '../context.js';
import type { WorkerFlags } from '../parse.js';

const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** `jarvis worker`: runs queued tasks on this machine's backends until Ctrl-C. */
export async function workerCommand(flags: WorkerFlags, io: CliIo): Promise<number> {
  const { config } = configFor(flags, io);
  const url = flags.queue ?? config.queue.url;
  if (!url)
    throw new ConfigError('jarvis worker needs the queue: --queue redis://host:6379 (or JARVIS_QUEUE_URL)');
  const wanted = list(flags.backends) ?? ['local', 'transformers'];
  // No controller: a worker runs experts; the controller LLM stays with the server.
  const all = createBackends({ config, controller: undefined });
  const unknown = wanted.filter((id) => !all.some((backend) => backend.id === id));
  if (unknown.length > 0) {
    throw new ConfigError(
      `unknown backend ${unknown.join(', ')}: choose from ${all.map((backend) => backend.id).join(', ')}`,
    );
  }
  const backends = all.filter((backend) => wanted.includes(backend.id));
  const models = list(flags.models);
  const worker = await startQueueWorker({
    url,
    serverUrl: flags.server,
    backends,
    concurrency: flags.concurrency ?? availableParallelism(),
    prefix: config.queue.prefix,
    stallIntervalMs: config.queue.stallIntervalMs,
    ...(models ? { models } : {}),
    log: (line) => io.stderr.write(`${line}\n`),
  });
  io.stdout.write(
    `Jarvis worker ${worker.id} takes tasks for ${worker.models.length} model(s) from ${url.replace(/\/\/[^@/]*@/, '//***@')} for ${flags.server}\n`,
  );
  io.stdout.write('Ctrl-C to stop (running tasks finish first).\n');
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await worker.close();
  await Promise.all(backends.map((backend) => backend.close?.()));
  return 0;
}
