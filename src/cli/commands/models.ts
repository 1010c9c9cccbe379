import pc from 'picocolors';
import { modelKey } from '../../core/backend.js';
import { normalizeTaskName } from '../../core/tasks.js';
import { closestTask } from '../../plan/index.js';
import { queueDispatcherFor } from '../../queue/dispatcher.js';
import { createJarvis } from '../../run/index.js';
import { type CliIo, configFor, jarvisFor, notices, UsageError } from '../context.js';
import type { CommonFlags } from '../parse.js';

/** `jarvis models`: every model per task with backend and availability, and why not where unavailable. */
export async function modelsCommand(
  flags: CommonFlags & { task?: string; json: boolean },
  io: CliIo,
): Promise<number> {
  const task = flags.task === undefined ? undefined : normalizeTaskName(flags.task);
  if (flags.task !== undefined && task === undefined) {
    const closest = closestTask(flags.task);
    throw new UsageError(
      `Unknown task "${flags.task}".${closest ? ` Did you mean "${closest}"?` : ''} \`jarvis models\` lists the tasks that have models.`,
    );
  }
  // With a queue, the models live workers offer are listed too (tagged "worker"), as the server selects them.
  const { config } = configFor(flags, io);
  const queue = await queueDispatcherFor(config);
  const jarvis = queue
    ? await createJarvis(config, { onNotice: (message) => notices.write(message), wrapBackend: queue.wrap })
    : await jarvisFor(flags, io);
  try {
    const cards = await jarvis.catalog.list(task);
    if (flags.json) {
      const rows = cards.map((card) => ({
        id: card.id,
        task: card.task,
        backend: card.backend,
        available: card.available,
        reason: card.reason ?? null,
        description: card.description,
        source: card.source,
        local: card.local,
        ...(card.downloads === undefined ? {} : { downloads: card.downloads }),
      }));
      io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    if (cards.length === 0) {
      io.stdout.write(`No models${task ? ` for ${task}` : ''} in mode ${jarvis.config.inference.mode}.\n`);
      return 0;
    }
    const byTask = new Map<string, typeof cards>();
    for (const card of cards) byTask.set(card.task, [...(byTask.get(card.task) ?? []), card]);
    for (const [name, group] of [...byTask.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      io.stdout.write(`${pc.bold(name)}\n`);
      for (const card of group) {
        const state = card.available ? pc.green('available') : pc.red('unavailable');
        const worker = card.tags?.includes('worker') ? `${pc.cyan('[worker]')} ` : '';
        const note = `${worker}${card.available ? card.description : (card.reason ?? 'unavailable')}`;
        const flat = note.replace(/\s+/g, ' ');
        io.stdout.write(
          `  ${modelKey(card)}  ${state}  ${pc.dim(flat.length > 100 ? `${flat.slice(0, 99)}…` : flat)}\n`,
        );
      }
    }
    return 0;
  } finally {
    await jarvis.close();
    await queue?.close();
  }
}
