import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import {
  readGoldLines,
  readPredictionLines,
  readTaskBenchTools,
  runTaskBenchPlanning,
  scoreTaskBench,
  type TaskBenchGroupMetrics,
  type TaskBenchRunProgress,
  taskBenchVocabulary,
} from '../../eval/index.js';
import { createController, requireController } from '../../llm/index.js';
import { type CliIo, configFor } from '../context.js';
import { EXIT_OK, EXIT_PARTIAL, UsageError } from '../exit-codes.js';
import type { EvalFlags } from '../parse.js';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${what} ${path}: ${errorMessage(error)}`);
  }
}

/** `--tools`, else a `tool_desc.json` beside the gold file, as in TaskBench's data folders. */
function toolsPath(flags: EvalFlags, gold: string, cwd: string): string {
  if (flags.tools) return resolve(cwd, flags.tools);
  const beside = join(dirname(gold), 'tool_desc.json');
  if (existsSync(beside)) return beside;
  throw new UsageError(
    `jarvis eval taskbench needs the tool list: --tools tool_desc.json (none found beside ${gold})`,
  );
}

const COLUMNS: [string, keyof TaskBenchGroupMetrics][] = [
  ['node F1 micro', 'node_micro_f1_no_matching'],
  ['node F1 macro', 'node_macro_f1_no_matching'],
  ['link F1', 'link_binary_f1'],
  ['arg name F1', 'argument_task_argname_binary_f1_no_matching'],
  ['arg value F1', 'argument_task_argname_value_binary_f1_no_matching'],
  ['edit dist.', 'edit_distance'],
];

function table(scores: Record<string, TaskBenchGroupMetrics>): string {
  const header = ['group'.padEnd(16), 'samples'.padStart(8), ...COLUMNS.map(([title]) => title.padStart(13))];
  const lines = [header.join(' ')];
  for (const [group, metrics] of Object.entries(scores)) {
    if (metrics.node_supports === 0) continue;
    const label =
      group === 'overall_overall' ? 'overall' : group.replace(/_overall$/, '').replace(/^overall_/, 'tools=');
    lines.push(
      [
        label.padEnd(16),
        `${metrics.node_supports}/${metrics.all_samples}`.padStart(8),
        ...COLUMNS.map(([, key]) => (metrics[key] as number).toFixed(4).padStart(13)),
      ].join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}

function describeProgress(progress: TaskBenchRunProgress): string {
  return (
    `${progress.done}/${progress.total} planned` +
    (progress.resumed > 0 ? ` (${progress.resumed} already in the file)` : '') +
    `, ${progress.llmCalls} LLM calls, ${progress.inputTokens} input + ${progress.outputTokens} output tokens, ` +
    `valid plans ${progress.validReplies}/${progress.replies} replies` +
    (progress.failed > 0 ? `, ${progress.failed} failed` : '')
  );
}

/**
 * `jarvis eval taskbench`: scores TaskBench predictions as TaskBench's evaluate.py does; without
 * `--predictions`, first plans every gold request with the configured controller into a predictions file.
 */
export async function evalCommand(benchmark: string, flags: EvalFlags, io: CliIo): Promise<number> {
  if (benchmark.toLowerCase() !== 'taskbench') {
    throw new UsageError(`unknown benchmark "${benchmark}"; the one benchmark is taskbench`);
  }
  const goldPath = resolve(io.cwd, flags.gold);
  let gold: Record<string, unknown>[];
  try {
    gold = readGoldLines(readText(goldPath, '--gold'));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--gold ${flags.gold}: ${errorMessage(error)}`);
  }
  if (flags.limit !== undefined) gold = gold.slice(0, flags.limit);
  const toolsFile = toolsPath(flags, goldPath, io.cwd);
  let tools: ReturnType<typeof readTaskBenchTools>;
  try {
    tools = readTaskBenchTools(JSON.parse(readText(toolsFile, '--tools')));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--tools ${toolsFile}: ${errorMessage(error)}`);
  }

  let run: TaskBenchRunProgress | undefined;
  let predictionsPath: string;
  if (flags.predictions) {
    predictionsPath = resolve(io.cwd, flags.predictions);
  } else {
    predictionsPath = resolve(io.cwd, flags.out ?? 'taskbench-predictions.jsonl');
    const controller = requireController(
      await createController(configFor(flags, io).config, {
        onProgress: (message) => io.stderr.write(`jarvis: ${message}\n`),
      }),
      'jarvis eval taskbench (without --predictions)',
    );
    const live = io.stderr.isTTY === true;
    let lastShown = 0;
    run = await runTaskBenchPlanning({
      gold,
      vocabulary: taskBenchVocabulary(tools),
      controller,
      predictionsPath,
      ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
      signal: io.signal,
      onProgress: (progress) => {
        if (live) {
          io.stderr.write(`\r\x1b[2Kjarvis: ${describeProgress(progress)}`);
        } else if (progress.done === progress.total || Date.now() - lastShown > 5_000) {
          lastShown = Date.now();
          io.stderr.write(`jarvis: ${describeProgress(progress)}\n`);
        }
      },
    });
    if (live && run.total > 0) io.stderr.write('\n');
    io.stderr.write(`jarvis: predictions in ${predictionsPath}\n`);
  }

  const { rows, warnings } = readPredictionLines(readText(predictionsPath, '--predictions'));
  for (const warning of warnings) io.stderr.write(`jarvis: warning: ${warning}\n`);
  const scores = scoreTaskBench({ gold, predictions: rows, tools });
  const overall = scores.overall_overall!;
  if (overall.all_samples === 0) {
    io.stderr.write('jarvis: warning: no prediction has an id of the gold file; nothing was scored\n');
  } else if (overall.node_supports < overall.all_samples) {
    io.stderr.write(
      `jarvis: warning: ${overall.all_samples - overall.node_supports} of ${overall.all_samples} predictions could not be read (no "result.task_nodes" list of {"task", "arguments"}) and are not scored, as in evaluate.py\n`,
    );
  }
  if (flags.json) {
    const summary = run && {
      planned: run.done,
      resumed: run.resumed,
      failed: run.failed,
      llm_calls: run.llmCalls,
      input_tokens: run.inputTokens,
      output_tokens: run.outputTokens,
      valid_reply_share: run.replies === 0 ? null : run.validReplies / run.replies,
      valid_plan_share: run.done === 0 ? null : run.validPlans / run.done,
    };
    io.stdout.write(
      `${JSON.stringify({ metrics: scores, ...(summary ? { run: summary } : {}), predictions: predictionsPath, warnings }, null, 2)}\n`,
    );
  } else {
    io.stdout.write(table(scores));
    if (run) io.stdout.write(`${describeProgress(run)}\n`);
  }
  return run && run.failed > 0 ? EXIT_PARTIAL : EXIT_OK;
}
