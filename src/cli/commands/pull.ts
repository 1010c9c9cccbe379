import {
  CURATED_MODELS,
  TRANSFORMERS_BACKEND_ID,
  type TransformersBackend,
} from '../../backends/transformers/index.js';
import { ConfigError } from '../../core/errors.js';
import { normalizeTaskName } from '../../core/tasks.js';
import { type CliIo, jarvisFor, UsageError } from '../context.js';
import type { CommonFlags } from '../parse.js';

/**
 * `jarvis pull MODEL`: downloads an ONNX model for the transformers.js backend into the model cache, so that
 * it is available offline and selection can choose it.
 */
export async function pullCommand(
  model: string,
  flags: CommonFlags & { task?: string },
  io: CliIo,
): Promise<number> {
  const task = flags.task
    ? normalizeTaskName(flags.task)
    : CURATED_MODELS.find((curated) => curated.id === model)?.task;
  // Naming no task, or an unknown one, is a command line to fix (exit 2).
  if (!task) {
    throw new UsageError(
      flags.task
        ? `Unknown task "${flags.task}".`
        : `Which task is ${model} for? Give --task (e.g. --task image-classification).`,
    );
  }
  const jarvis = await jarvisFor(flags, io);
  try {
    const backend = jarvis.catalog.backends.get(TRANSFORMERS_BACKEND_ID) as TransformersBackend | undefined;
    if (!backend) throw new ConfigError('The transformers backend is not registered.');
    const stored = await backend.download(model, task, {
      onProgress: (message) => io.stderr.write(`${message}\n`),
      signal: io.signal,
    });
    io.stdout.write(
      `${stored.id} is ready for ${task} (${stored.dir}, ${(stored.sizeBytes / 1024 / 1024).toFixed(1)} MB)\n`,
    );
    return 0;
  } finally {
    await jarvis.close();
  }
}
