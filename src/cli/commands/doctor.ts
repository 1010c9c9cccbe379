import { access, constants, mkdir } from 'node:fs/promises';
import pc from 'picocolors';
import { errorMessage, redact } from '../../core/errors.js';
import { inspectEmbeddedModel } from '../../llm/embedded/from-config.js';
import { connectRedis, redisConnection } from '../../queue/dispatcher.js';
import { liveWorkers } from '../../queue/registry.js';
import { createJarvis } from '../../run/index.js';
import { type CliIo, configFor } from '../context.js';
import { EXIT_CANNOT_RUN, EXIT_OK } from '../exit-codes.js';
import type { CommonFlags } from '../parse.js';

interface Check {
  name: string;
  ok: boolean;
  /** A missing optional piece: reported, but not a failure. */
  warning?: boolean;
  detail: string;
}

/** Asks the endpoint for its model list: cheap, and needs the same key and URL as chat completions. */
async function probeLlm(baseURL: string, apiKey: string | undefined, signal: AbortSignal): Promise<Check> {
  const url = `${baseURL.replace(/\/$/, '')}/models`;
  try {
    const response = await fetch(url, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]),
    });
    if (response.ok) return { name: 'LLM endpoint', ok: true, detail: `${baseURL} answers` };
    const hint = response.status === 401 || response.status === 403 ? ' (check JARVIS_LLM_API_KEY)' : '';
    // Some servers have no /models route but serve chat completions: reachable is what matters here.
    const reachable = response.status === 404 || response.status === 405;
    return {
      name: 'LLM endpoint',
      ok: reachable,
      detail: `${baseURL} answered HTTP ${response.status}${hint}`,
    };
  } catch (error) {
    return {
      name: 'LLM endpoint',
      ok: false,
      detail: redact(`${baseURL} is unreachable: ${errorMessage(error)}`, [apiKey]),
    };
  }
}

/** `jarvis doctor`: what is configured, what is reachable, what is missing and how to fix it. */
export async function doctorCommand(flags: CommonFlags & { json: boolean }, io: CliIo): Promise<number> {
  const { config, file } = configFor(flags, io);
  const checks: Check[] = [];
  checks.push({ name: 'Node.js', ok: true, detail: process.version });
  checks.push({ name: 'Config file', ok: true, detail: file ?? 'none (defaults and environment)' });

  // Which controller the pipeline will use, and why: the same decision the pipeline makes, without loading or
  // downloading anything.
  if (config.llm.baseURL) {
    const source = flags.baseUrl
      ? 'the --base-url flag'
      : io.env.JARVIS_LLM_BASE_URL
        ? 'JARVIS_LLM_BASE_URL'
        : io.env.OPENAI_BASE_URL
          ? 'OPENAI_BASE_URL'
          : `llm.baseURL in ${file ?? 'the config file'}`;
    const ignored = config.llm.localModel ? '; llm.localModel is not used: an endpoint wins' : '';
    checks.push({
      name: 'Controller',
      ok: true,
      detail: `endpoint: model ${config.llm.model} at ${config.llm.baseURL} (from ${source})${ignored}`,
    });
    checks.push(await probeLlm(config.llm.baseURL, config.llm.apiKey, io.signal));
  } else {
    try {
      const embedded = await inspectEmbeddedModel(config, io.env);
      // No controller means no planning: the main job cannot run, which is a failure, not a warning.
      checks.push({ name: 'Controller', ok: embedded.ready, detail: embedded.detail });
    } catch (error) {
      checks.push({ name: 'Controller', ok: false, detail: errorMessage(error) });
    }
  }
  checks.push({
    name: 'Inference mode',
    ok: true,
    detail: `${config.inference.mode}${config.inference.offline ? ', offline' : ''}; HF_TOKEN ${
      config.inference.hfToken ? 'set' : 'not set'
    }`,
  });

  try {
    await mkdir(config.dataDir, { recursive: true });
    await access(config.dataDir, constants.W_OK);
    checks.push({ name: 'Data folder', ok: true, detail: config.dataDir });
  } catch (error) {
    checks.push({ name: 'Data folder', ok: false, detail: `${config.dataDir}: ${errorMessage(error)}` });
  }

  if (config.queue.url) checks.push(await queueCheck(config.queue.url, config.queue.prefix));

  const notices: string[] = [];
  let jarvis: Awaited<ReturnType<typeof createJarvis>>;
  try {
    // Notices (an unreadable catalog file, an unreachable Hub) become checks below instead of stderr lines.
    jarvis = await createJarvis(config, { onNotice: (message) => notices.push(message) });
  } catch (error) {
    checks.push({ name: 'Pipeline', ok: false, detail: errorMessage(error) });
    return report(checks, flags.json, io);
  }
  try {
    const cards = await jarvis.catalog.list();
    // The Hub is listed per task on demand: ask for one task so that its reachability shows below.
    if (config.inference.mode !== 'local') await jarvis.catalog.list('object-detection');
    for (const notice of new Set(notices))
      checks.push({ name: 'Model sources', ok: false, warning: true, detail: notice });
    for (const status of jarvis.catalog.sourceStatus()) {
      const trouble = /skipp|unreachable|fail|cannot|not found|offline|invalid/i.test(status.message);
      checks.push({
        name: `Model source ${status.source}`,
        ok: !trouble,
        warning: trouble,
        detail: status.message,
      });
    }
    const byBackend = new Map<string, { total: number; available: number; reasons: Set<string> }>();
    for (const card of cards) {
      const entry = byBackend.get(card.backend) ?? { total: 0, available: 0, reasons: new Set<string>() };
      entry.total += 1;
      if (card.available) entry.available += 1;
      // Reasons that differ only in a size or count ("about 27 MB") are one fix: show it once.
      else if (card.reason) entry.reasons.add(card.reason.replace(/\s*\(about [^)]*\)/g, ''));
      byBackend.set(card.backend, entry);
    }
    for (const [backend, entry] of byBackend) {
      checks.push({
        name: `Backend ${backend}`,
        ok: entry.available > 0,
        warning: entry.available === 0,
        detail: `${entry.available}/${entry.total} models available${
          entry.reasons.size
            ? `; missing: ${[...entry.reasons].slice(0, 3).join('; ')}${
                entry.reasons.size > 3 ? ` (and ${entry.reasons.size - 3} more: jarvis models)` : ''
              }`
            : ''
        }`,
      });
    }
    // The main job hands tasks to expert models: with none runnable it cannot run, whatever else is fine.
    // The controller's own text tasks (backend llm) do not count: they need no expert.
    if (!cards.some((card) => card.available && card.backend !== 'llm')) {
      checks.push({
        name: 'Experts',
        ok: false,
        detail: `no expert model can run in mode ${config.inference.mode}${
          config.inference.mode === 'huggingface'
            ? ': set HF_TOKEN for Inference Providers, or use --mode hybrid for the local experts'
            : ': see the backends above, or jarvis models'
        }`,
      });
    }
  } finally {
    await jarvis.close();
  }

  return report(checks, flags.json, io);
}

/** The queue's Redis and the workers alive on it (`jarvis serve --queue` needs the first, not the second). */
async function queueCheck(url: string, prefix: string): Promise<Check> {
  const shown = url.replace(/\/\/[^@/]*@/, '//***@');
  const redis = redisConnection(url);
  try {
    await connectRedis(redis, url, 3000);
    const workers = await liveWorkers(redis, prefix);
    const list = workers
      .map(
        (worker) =>
          `${worker.id} on ${worker.host} (${worker.models.length} models, ${worker.running}/${worker.concurrency} busy)`,
      )
      .join('; ');
    return {
      name: 'Queue',
      ok: true,
      warning: workers.length === 0,
      detail: `${shown} answers; ${workers.length === 0 ? 'no live workers (start one with jarvis worker)' : `${workers.length} live worker(s): ${list}`}`,
    };
  } catch (error) {
    return { name: 'Queue', ok: false, detail: errorMessage(error) };
  } finally {
    redis.disconnect();
  }
}

function report(checks: Check[], json: boolean, io: CliIo): number {
  if (json) {
    io.stdout.write(`${JSON.stringify({ checks }, null, 2)}\n`);
  } else {
    for (const check of checks) {
      const mark = check.ok ? pc.green('✓') : check.warning ? pc.yellow('!') : pc.red('✗');
      io.stdout.write(`${mark} ${pc.bold(check.name)}: ${check.detail}\n`);
    }
  }
  // A failed check means the main job cannot run as configured (exit 1); warnings name optional pieces.
  return checks.some((check) => !check.ok && !check.warning) ? EXIT_CANNOT_RUN : EXIT_OK;
}
