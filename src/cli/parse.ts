import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { ConfigLayer } from '../config/schema.js';

/** Settings every command accepts; they become the config's flag layer. */
export interface CommonFlags {
  config?: string;
  baseUrl?: string;
  model?: string;
  apiKey?: string;
  localModel?: string;
  mode?: 'local' | 'huggingface' | 'hybrid';
  offline?: boolean;
  dataDir?: string;
  expertWorkers?: number;
}

export interface RunFlags extends CommonFlags {
  plan?: string;
  select?: 'llm' | 'top';
  answer: boolean;
  json: boolean;
  concurrency?: number;
  timeout?: number;
  topK?: number;
  file: string[];
}

/** `jarvis worker`: see src/cli/commands/worker.ts. */
export interface WorkerFlags extends CommonFlags {
  queue?: string;
  server: string;
  backends?: string;
  concurrency?: number;
  models?: string;
}

/** `jarvis eval taskbench`: see src/cli/commands/eval.ts. */
export interface EvalFlags extends CommonFlags {
  gold: string;
  predictions?: string;
  tools?: string;
  out?: string;
  concurrency?: number;
  limit?: number;
  json: boolean;
}

export type ParsedCommand =
  | { command: 'run'; request: string; flags: RunFlags }
  | { command: 'plan'; request: string; flags: CommonFlags & { json: boolean } }
  | { command: 'chat'; flags: RunFlags }
  | { command: 'models'; flags: CommonFlags & { task?: string; json: boolean } }
  | { command: 'doctor'; flags: CommonFlags & { json: boolean } }
  | { command: 'serve'; flags: CommonFlags & { host?: string; port?: number; queue?: string } }
  | { command: 'worker'; flags: WorkerFlags }
  | { command: 'pull'; model: string; flags: CommonFlags & { task?: string } }
  | { command: 'mcp'; flags: CommonFlags & { root?: string } }
  | { command: 'eval'; benchmark: string; flags: EvalFlags }
  /** Help or version was printed; nothing else to do. */
  | { command: 'exit'; code: number; output: string };

const positiveInt = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
};

const nonNegativeInt = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError('expected 0 or a positive integer');
  return parsed;
};

const port = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new InvalidArgumentError('expected a port 0-65535');
  return parsed;
};

function withCommonOptions(command: Command): Command {
  return command
    .option('--config <file>', 'config file (default: ./jarvis.config.json, ~/.config/jarvis/config.json)')
    .option('--base-url <url>', 'OpenAI-compatible endpoint of the controller LLM (JARVIS_LLM_BASE_URL)')
    .option('--model <id>', 'controller model name (JARVIS_LLM_MODEL)')
    .option('--api-key <key>', 'API key of the endpoint (JARVIS_LLM_API_KEY); prefer the environment')
    .option(
      '--local-model <gguf>',
      'embedded controller: a GGUF file or hf: reference, used without --base-url (JARVIS_LOCAL_MODEL)',
    )
    .addOption(
      new Option('--mode <mode>', 'inference mode (JARVIS_INFERENCE_MODE)').choices([
        'local',
        'huggingface',
        'hybrid',
      ]),
    )
    .option('--offline', 'never touch the network for models (JARVIS_OFFLINE=1)')
    .option(
      '--data-dir <dir>',
      'where generated files and the database go (JARVIS_DATA_DIR, default .jarvis)',
    )
    .option(
      '--expert-workers <n>',
      'worker threads for local experts, 0 = main thread (JARVIS_EXPERT_WORKERS, default: cores + 1, at most 4)',
      nonNegativeInt,
    );
}

function withRunOptions(command: Command): Command {
  return withCommonOptions(command)
    .option('--plan <file>', 'execute this task graph (HuggingGPT or TaskBench JSON) instead of planning')
    .addOption(
      new Option('--select <strategy>', 'model selection: llm or top (no LLM call)').choices(['llm', 'top']),
    )
    .option('--no-answer', 'skip the answer (stage 4); answer is null')
    .option('--json', 'print one JSON object instead of the progress view', false)
    .option('--concurrency <n>', 'tasks run at once', positiveInt)
    .option('--timeout <ms>', 'timeout per task in milliseconds', positiveInt)
    .option('--top-k <n>', 'candidates per task shown to the LLM', positiveInt)
    .option(
      '--file <path>',
      'an input file the plan may use, besides the working directory (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    );
}

/** The version in package.json (from src/cli and dist/cli alike), so that `--version` cannot drift from it. */
function packageVersion(): string {
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
  return version;
}

/** Turns argv into a command descriptor. Pure: prints nothing, exits nothing. */
export function parseArgs(argv: string[]): ParsedCommand {
  let parsed: ParsedCommand | undefined;
  let output = '';
  const program = new Command('jarvis')
    .description('Jarvis: an LLM plans tasks, picks expert models, runs them and answers.')
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError('(run jarvis --help for usage)')
    .configureOutput({
      writeOut: (text) => {
        output += text;
      },
      writeErr: (text) => {
        output += text;
      },
    });

  withRunOptions(program.command('run').description('plan, select models, run the tasks and answer'))
    .argument('[request...]', 'what you want, in words; files are resolved from the working directory')
    .action((words: string[], flags: RunFlags) => {
      parsed = { command: 'run', request: words.join(' '), flags };
    });

  withCommonOptions(program.command('plan').description('print the task graph for a request (stage 1 only)'))
    .argument('<request...>', 'what you want, in words')
    .option('--json', 'print compact JSON', false)
    .action((words: string[], flags: CommonFlags & { json: boolean }) => {
      parsed = { command: 'plan', request: words.join(' '), flags };
    });

  withRunOptions(
    program.command('chat').description('a conversation: later turns can use earlier files and results'),
  ).action((flags: RunFlags) => {
    parsed = { command: 'chat', flags };
  });

  withCommonOptions(
    program.command('models').description('list the models per task, with backend and availability'),
  )
    .option('--task <task>', 'only this task')
    .option('--json', 'print a JSON array', false)
    .action((flags: CommonFlags & { task?: string; json: boolean }) => {
      parsed = { command: 'models', flags };
    });

  withCommonOptions(
    program
      .command('pull')
      .description('download an ONNX model for the transformers.js backend into the cache'),
  )
    .argument('<model>', 'Hugging Face model id, e.g. Xenova/detr-resnet-50')
    .option('--task <task>', 'the task to check it loads for (known for the documented models)')
    .action((model: string, flags: CommonFlags & { task?: string }) => {
      parsed = { command: 'pull', model, flags };
    });

  withCommonOptions(program.command('doctor').description('show what is configured, reachable and missing'))
    .option('--json', 'print JSON', false)
    .action((flags: CommonFlags & { json: boolean }) => {
      parsed = { command: 'doctor', flags };
    });

  withCommonOptions(program.command('serve').description('serve the HTTP API and web UI'))
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .option('--port <port>', 'port (default 7860)', port)
    .option(
      '--queue <redis-url>',
      'send tasks to `jarvis worker`s through Redis (e.g. redis://127.0.0.1:6379)',
    )
    .action((flags: CommonFlags & { host?: string; port?: number; queue?: string }) => {
      parsed = { command: 'serve', flags };
    });

  withCommonOptions(
    program
      .command('worker')
      .description("run tasks from a server's queue on this machine's experts (scale-out)"),
  )
    .option('--queue <redis-url>', 'the Redis the server uses (default: queue.url / JARVIS_QUEUE_URL)')
    .requiredOption('--server <url>', 'the Jarvis server whose tasks these are, e.g. http://10.0.0.5:7860')
    .option('--backends <ids>', 'comma-separated backends to offer (default local,transformers)')
    .option('--concurrency <n>', "tasks run at once (default: the machine's cores)", positiveInt)
    .option(
      '--models <ids>',
      "comma-separated models to offer only (backend:model or model), e.g. a GPU box's",
    )
    .action((flags: WorkerFlags) => {
      parsed = { command: 'worker', flags };
    });

  withCommonOptions(
    program
      .command('mcp')
      .description('serve the task experts and the pipeline as MCP tools over stdio (for desktop clients)'),
  )
    .option(
      '--root <dir>',
      'run as if started in this folder: tools read files under it (default: the working directory)',
    )
    .action((flags: CommonFlags & { root?: string }) => {
      parsed = { command: 'mcp', flags };
    });

  withCommonOptions(
    program
      .command('eval')
      .description(
        'score plans on TaskBench as its evaluate.py does; without --predictions, plan them first',
      ),
  )
    .argument('<benchmark>', 'taskbench')
    .requiredOption(
      '--gold <file>',
      "TaskBench's data (JSON lines with id, instruction or user_request, task_nodes)",
    )
    .option('--predictions <file>', 'score these prediction lines instead of planning')
    .option('--tools <file>', 'tool_desc.json (default: the one beside --gold)')
    .option(
      '--out <file>',
      'where planned predictions go; a rerun resumes (default taskbench-predictions.jsonl)',
    )
    .option('--concurrency <n>', 'requests planned at once (default 4)', positiveInt)
    .option('--limit <n>', 'only the first n gold rows', positiveInt)
    .option('--json', "print the metrics as JSON under evaluate.py's key names", false)
    .action((benchmark: string, flags: EvalFlags) => {
      parsed = { command: 'eval', benchmark, flags };
    });

  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const code = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
      return { command: 'exit', code, output };
    }
    throw error;
  }
  if (!parsed) {
    return { command: 'exit', code: argv.length === 0 ? 0 : 2, output: program.helpInformation() };
  }
  return parsed;
}

/** The config layer the flags give (the last word in defaults < file < environment < flags). */
export function flagsToConfig(
  flags: Partial<RunFlags> & { host?: string; port?: number; queue?: string },
): ConfigLayer {
  return {
    llm: {
      ...(flags.baseUrl ? { baseURL: flags.baseUrl } : {}),
      ...(flags.model ? { model: flags.model } : {}),
      ...(flags.apiKey ? { apiKey: flags.apiKey } : {}),
      ...(flags.localModel ? { localModel: flags.localModel } : {}),
    },
    inference: {
      ...(flags.mode ? { mode: flags.mode } : {}),
      ...(flags.offline ? { offline: true } : {}),
    },
    select: {
      ...(flags.select ? { strategy: flags.select } : {}),
      ...(flags.topK ? { topK: flags.topK } : {}),
    },
    execute: {
      ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
      ...(flags.timeout ? { taskTimeoutMs: flags.timeout } : {}),
    },
    server: {
      ...(flags.host ? { host: flags.host } : {}),
      ...(flags.port !== undefined ? { port: flags.port } : {}),
    },
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    ...(flags.queue ? { queue: { url: flags.queue } } : {}),
    ...(flags.expertWorkers !== undefined ? { experts: { workers: flags.expertWorkers } } : {}),
  };
}
