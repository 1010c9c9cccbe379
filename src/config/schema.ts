import { z } from 'zod';
import { suggestKey } from './problems.js';

/**
 * A strict object: an unknown key is an issue whose message names the key probably meant, so that every reader
 * of zod's issues (the config file, a program's settings, the server's) says the same useful thing.
 */
function strictSection<Shape extends z.ZodRawShape>(path: readonly string[], shape: Shape) {
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys
            .map((key) => {
              const meant = suggestKey(configSchema, path, key);
              return `unknown config key "${[...path, key].join('.')}"${meant ? ` — did you mean "${meant}"?` : ''}`;
            })
            .join('; ')
        : undefined,
  });
}

/**
 * Every setting Jarvis reads, with its default. Sources merge as defaults < file < environment < flags.
 * Objects are strict: a misspelt key ("selct", "concurency") would otherwise be dropped without a word and its
 * setting silently left at the default.
 */
export const configSchema = strictSection([], {
  llm: strictSection(['llm'], {
    /** OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1. */
    baseURL: z.string().url().optional(),
    apiKey: z.string().optional(),
    model: z.string().default('gpt-4o-mini'),
    /** Context window of the model, for trimming chat history. */
    contextTokens: z.number().int().positive().default(16_000),
    timeoutMs: z.number().int().positive().default(120_000),
    maxRetries: z.number().int().min(0).max(10).default(3),
    /** Provider supports `response_format: json_schema`. */
    structuredOutputs: z.boolean().default(true),
    /** GGUF file or model reference for the embedded controller (used when no baseURL is set). */
    localModel: z.string().optional(),
    /**
     * With no baseURL and no localModel, download the default GGUF model (about 2.5 GB) on the first LLM
     * call; false: never, and without a cached copy there is no controller.
     */
    autoDownload: z.boolean().default(true),
    temperature: z.number().min(0).max(2).default(0),
  }).prefault({}),
  plan: strictSection(['plan'], {
    /** How many past messages of a conversation the planner sees at most. */
    maxHistoryMessages: z.number().int().min(0).default(20),
  }).prefault({}),
  select: strictSection(['select'], {
    /** `llm`: the controller picks among candidates; `top`: the top-ranked candidate, no LLM call. */
    strategy: z.enum(['llm', 'top']).default('llm'),
    topK: z.number().int().positive().default(5),
    descriptionChars: z.number().int().positive().default(300),
  }).prefault({}),
  execute: strictSection(['execute'], {
    concurrency: z.number().int().positive().default(4),
    taskTimeoutMs: z.number().int().positive().default(120_000),
    /** Allow input URLs on private, loopback and link-local addresses. */
    allowPrivateUrls: z.boolean().default(false),
    maxDownloadBytes: z
      .number()
      .int()
      .positive()
      .default(25 * 1024 * 1024),
    urlTimeoutMs: z.number().int().positive().default(15_000),
  }).prefault({}),
  respond: strictSection(['respond'], { enabled: z.boolean().default(true) }).prefault({}),
  experts: strictSection(['experts'], {
    /**
     * Worker threads that run local experts and transformers.js off the main event loop, each keeping the
     * models it ran loaded; 0 runs them on the main thread. Default: one more than the cores, at most 4.
     */
    workers: z.number().int().min(0).max(64).optional(),
  }).prefault({}),
  inference: strictSection(['inference'], {
    /** HuggingGPT's modes: `local` experts only, `huggingface` remote only, `hybrid` prefers local. */
    mode: z.enum(['local', 'huggingface', 'hybrid']).default('hybrid'),
    hfToken: z.string().optional(),
    /** JSONL catalog of allowed models, in the form of HuggingGPT's p0_models.jsonl. */
    catalogFile: z.string().optional(),
    offline: z.boolean().default(false),
    /** Where downloaded models and the Hub catalog cache live. */
    cacheDir: z.string().optional(),
    /** The Hugging Face Hub (or a mirror) for model lists and downloads; default https://huggingface.co. */
    hubUrl: z.string().url().optional(),
  }).prefault({}),
  /** Where runs write generated files and the database lives. Relative paths are from the working directory. */
  dataDir: z.string().default('.jarvis'),
  server: strictSection(['server'], {
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(7860),
    apiKey: z.string().optional(),
    database: z.string().optional(),
    corsOrigins: z.array(z.string()).default([]),
    /** Runs executing at once, all keys together (default: 64 per CPU core); more wait in a queue. */
    maxRunningRuns: z.number().int().positive().optional(),
    /** Runs that may wait for a slot (default: 4 per slot); past that, 429 with Retry-After. */
    maxQueuedRuns: z.number().int().min(0).optional(),
    /** At most this many of the slots per API key (default: no bound; waiting keys are served in turn). */
    maxConcurrentRunsPerKey: z.number().int().positive().optional(),
    maxUploadBytes: z
      .number()
      .int()
      .positive()
      .default(20 * 1024 * 1024),
  }).prefault({}),
  /** Scale-out: stage 3 tasks as BullMQ jobs for `jarvis worker`s (unset: everything runs in-process). */
  queue: strictSection(['queue'], {
    /** `redis://host:6379` (or `rediss://` for TLS); also `--queue` and JARVIS_QUEUE_URL. */
    url: z.string().optional(),
    /** Prefix of every Redis key Jarvis uses: separate deployments may share one Redis. */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,40}$/)
      .default('jarvis'),
    /** A worker that stops renewing a running job's lock for this long is dead: its job goes to another. */
    stallIntervalMs: z.number().int().min(200).default(30_000),
  }).prefault({}),
  /** MCP servers whose tools become experts (and tasks the planner may use): the `mcpServers` shape of desktop clients. */
  mcp: strictSection(['mcp'], {
    /** Keyed by a name (letters, digits, _ and -); each tool is the task `<name>.<tool>`. */
    servers: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, 'an MCP server name is letters, digits, _ and - (at most 64)'),
        z.union(
          [
            z.strictObject({
              command: z.string().min(1),
              args: z.array(z.string()).optional(),
              env: z.record(z.string(), z.string()).optional(),
              cwd: z.string().optional(),
              type: z.literal('stdio').optional(),
              disabled: z.boolean().optional(),
            }),
            z.strictObject({
              url: z.string().url(),
              headers: z.record(z.string(), z.string()).optional(),
              type: z.enum(['http', 'streamable-http']).optional(),
              disabled: z.boolean().optional(),
            }),
          ],
          {
            error: () =>
              'an MCP server is {"command", "args", "env"} (stdio) or {"url", "headers"} (Streamable HTTP)',
          },
        ),
        {
          error: (issue) =>
            issue.code === 'invalid_key'
              ? 'an MCP server name is letters, digits, _ and - (at most 64)'
              : undefined,
        },
      )
      .default({}),
    /** How long starting a server and listing its tools may take. */
    connectTimeoutMs: z.number().int().positive().default(30_000),
  }).prefault({}),
});

export type JarvisConfig = z.infer<typeof configSchema>;

/** A partial config as found in a file, the environment or flags. */
export type ConfigLayer = {
  [K in keyof JarvisConfig]?: JarvisConfig[K] extends Record<string, unknown>
    ? Partial<JarvisConfig[K]>
    : JarvisConfig[K];
};
