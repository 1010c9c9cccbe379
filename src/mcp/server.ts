import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PIPELINE_DATA } from '@huggingface/tasks';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ModelCard } from '../core/backend.js';
import { CancelledError, errorMessage, InputError } from '../core/errors.js';
import type { RunEvent } from '../core/events.js';
import { type TaskName, taskSignature } from '../core/tasks.js';
import { resolveLocalFile } from '../execute/index.js';
import { detectFileType } from '../media/types.js';
import { runOutputDir } from '../run/index.js';
import { runToolResult } from './content.js';
import type { McpHost } from './host.js';
import { type FileArgumentKind, fileArgument, InlineFiles, parseRunFileUri, runFileUri } from './inputs.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** `object-detection` -> `object_detection`: the names MCP clients show, and the ones the issue promised. */
export function toolNameOf(task: string): string {
  return task.replace(/-/g, '_');
}

function packageVersion(): string {
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
  return version;
}

const FILE_KINDS: readonly FileArgumentKind[] = ['image', 'audio', 'video'];
const KIND_WORDS: Record<FileArgumentKind, string> = { image: 'image', audio: 'audio file', video: 'video' };

/** The tasks the configuration can run now, each with its runnable models (best first). */
export async function runnableTasks(host: McpHost): Promise<Map<TaskName, ModelCard[]>> {
  const tasks = new Map<TaskName, ModelCard[]>();
  for (const card of await host.models()) {
    // Tools of MCP servers Jarvis itself uses are theirs to offer, not Jarvis's.
    if (!card.available || card.backend === 'mcp') continue;
    const cards = tasks.get(card.task) ?? [];
    cards.push(card);
    tasks.set(card.task, cards);
  }
  return new Map([...tasks.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function inputShape(task: TaskName) {
  const signature = taskSignature(task);
  const shape: Record<string, z.ZodType> = {};
  for (const kind of signature.inputs) {
    const required = signature.required.includes(kind);
    if (kind === 'text') {
      const text = z.string().describe('The text input of the task.');
      shape.text = required ? text : text.optional();
      continue;
    }
    const word = KIND_WORDS[kind];
    shape[kind] = z
      .string()
      .optional()
      .describe(
        `The ${word}: a path (relative to the server's working folder, or inside the folders it allows), ` +
          `an http(s) URL, a jarvis://runs/<id>/<file> resource, or a base64 data: URL.` +
          (required ? ` Required unless ${kind}_base64 is given.` : ''),
      );
    shape[`${kind}_base64`] = z
      .string()
      .optional()
      .describe(`The ${word}'s content, base64-encoded (instead of ${kind}).`);
  }
  return shape;
}

function describeTask(task: TaskName, cards: ModelCard[]): string {
  const name = (PIPELINE_DATA as Record<string, { name?: string }>)[task]?.name ?? task;
  const signature = taskSignature(task);
  const best = cards
    .slice(0, 3)
    .map((card) => `${card.backend}:${card.id}`)
    .join(', ');
  return (
    `${name} (${task}) with Jarvis's expert models. Takes ${signature.inputs.join(' + ')}, produces ${signature.output}. ` +
    `Models, best first: ${best}${cards.length > 3 ? `, and ${cards.length - 3} more` : ''}.`
  );
}

/** Reports run events as MCP progress notifications, when the client asked for progress. */
function progressReporter(extra: Extra): (event: RunEvent) => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => {};
  let progress = 0;
  let total: number | undefined;
  return (event) => {
    const message = progressMessage(event);
    if (message === undefined) return;
    if (event.type === 'plan-done') total = event.plan.length * 2 + 2;
    progress += 1;
    if (total !== undefined && progress > total) total = progress;
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, ...(total === undefined ? {} : { total }), message },
      })
      .catch(() => {});
  };
}

export function progressMessage(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'run-start':
      return `run ${event.runId} started`;
    case 'plan-start':
      return 'planning';
    case 'plan-done':
      return `planned ${event.plan.length} task(s)${event.plan.length ? `: ${event.plan.map((task) => task.task).join(', ')}` : ''}`;
    case 'select-done':
      return `task ${event.choice.taskId}: chose ${event.choice.backend}:${event.choice.modelId}`;
    case 'task-start':
      return `task ${event.taskId} (${event.task}) started on ${event.backend}:${event.model}`;
    case 'task-progress':
      return `task ${event.taskId}: ${event.message}`;
    case 'task-end':
      return `task ${event.result.id} (${event.result.task}) ${event.result.status}`;
    case 'response-start':
      return 'answering';
    default:
      return undefined;
  }
}

function errorResult(error: unknown): CallToolResult {
  return { content: [{ type: 'text', text: errorMessage(error) }], isError: true };
}

export interface JarvisMcpServerOptions {
  host: McpHost;
  /** Called with every run a tool started, for listing its files as resources. */
  onRun?: (runId: string) => void;
}

/**
 * Jarvis as an MCP server: a tool per task this configuration can run, a `jarvis` tool for the whole pipeline
 * (where a controller LLM is configured), and the files runs generate as `jarvis://runs/<id>/<file>`.
 * Returns a fresh server; one per connection (an HTTP session, the stdio pipe).
 */
export async function createJarvisMcpServer(options: JarvisMcpServerOptions): Promise<McpServer> {
  const { host } = options;
  const server = new McpServer(
    { name: 'jarvis', title: 'Jarvis (HuggingGPT)', version: packageVersion() },
    {
      capabilities: { tools: {}, resources: {}, logging: {} },
      instructions:
        "Jarvis runs expert models (object detection, captioning, speech, ...) on files and URLs. Call a task's tool " +
        'with a path, URL or base64 content, or the `jarvis` tool with a request in words to plan and run several tasks.',
    },
  );
  const sessionRuns: string[] = [];
  const remember = (runId: string) => {
    sessionRuns.push(runId);
    options.onRun?.(runId);
  };

  async function runTool(
    extra: Extra,
    build: (
      inline: InlineFiles,
    ) => Promise<Omit<Parameters<McpHost['run']>[0], 'signal' | 'onEvent' | 'inputFiles' | 'earlierRunIds'>>,
    single: boolean,
  ): Promise<CallToolResult> {
    const config = host.config();
    const inline = new InlineFiles(config, config.execute.maxDownloadBytes);
    try {
      const request = await build(inline);
      const result = await host.run({
        ...request,
        inputFiles: inline.paths,
        earlierRunIds: [...sessionRuns],
        signal: extra.signal,
        onEvent: progressReporter(extra),
      });
      remember(result.runId);
      return await runToolResult(result, { single });
    } catch (error) {
      if (error instanceof CancelledError) {
        const partial = error.partial as { runId?: string } | undefined;
        if (partial?.runId) remember(partial.runId);
      }
      return errorResult(error);
    } finally {
      await inline.remove().catch(() => {});
    }
  }

  for (const [task, cards] of await runnableTasks(host)) {
    const signature = taskSignature(task);
    server.registerTool(
      toolNameOf(task),
      {
        title: (PIPELINE_DATA as Record<string, { name?: string }>)[task]?.name ?? task,
        description: describeTask(task, cards),
        inputSchema: inputShape(task),
        annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
      },
      (rawArgs: Record<string, unknown>, extra: Extra) =>
        runTool(
          extra,
          async (inline) => {
            const args = rawArgs as Record<string, string | undefined>;
            const config = host.config();
            const planArgs: Record<string, string> = {};
            if (args.text !== undefined) planArgs.text = args.text;
            for (const kind of FILE_KINDS) {
              if (!signature.inputs.includes(kind)) continue;
              const value = args[kind];
              const encoded = args[`${kind}_base64`];
              if (value !== undefined && encoded !== undefined) {
                throw new InputError(`give either ${kind} or ${kind}_base64, not both`);
              }
              if (encoded !== undefined) planArgs[kind] = await inline.add(`${kind}_base64`, encoded, kind);
              else if (value !== undefined)
                planArgs[kind] = await fileArgument(config, kind, value, kind, inline);
              else if (signature.required.includes(kind)) {
                throw new InputError(`${toolNameOf(task)} needs ${kind} (a path, URL or ${kind}_base64)`);
              }
            }
            return {
              request: `${task} (MCP tool ${toolNameOf(task)})`,
              plan: [{ id: 0, task, dep: [-1], args: planArgs }],
              answer: false,
              select: 'top',
            };
          },
          true,
        ),
    );
  }

  if (host.hasController()) {
    server.registerTool(
      'jarvis',
      {
        title: 'Jarvis: plan and run expert models',
        description:
          'Runs the whole HuggingGPT pipeline on a request in words: the controller LLM plans tasks, picks expert ' +
          'models, runs them (files named in the request are read under the same rules as the task tools) and ' +
          'answers, naming the files it produced. Reports progress per stage and task; can be cancelled.',
        inputSchema: {
          request: z.string().min(1).describe('What you want, in words; name files by path or URL.'),
          attachments: z
            .array(
              z.object({
                kind: z.enum(['image', 'audio', 'video']),
                data: z.string().describe('base64 content or a base64 data: URL'),
              }),
            )
            .max(8)
            .optional()
            .describe('Files given inline; the request is told their paths.'),
          answer: z.boolean().optional().describe('false: skip the final answer (default true)'),
        },
        annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
      },
      (args, extra) =>
        runTool(
          extra,
          async (inline) => {
            const lines: string[] = [];
            for (const [index, attachment] of (args.attachments ?? []).entries()) {
              const path = await inline.add(`attachments[${index}]`, attachment.data, attachment.kind);
              lines.push(`- ${attachment.kind}: ${path}`);
            }
            return {
              request: lines.length
                ? `${args.request}\n\nAttached files:\n${lines.join('\n')}`
                : args.request,
              answer: args.answer ?? true,
            };
          },
          false,
        ),
    );
  }

  server.registerResource(
    'run-file',
    new ResourceTemplate('jarvis://runs/{runId}/{file}', {
      list: async () => {
        const config = host.config();
        const resources = [];
        for (const runId of sessionRuns) {
          const entries = await readdir(runOutputDir(config, runId), { withFileTypes: true }).catch(() => []);
          for (const entry of entries) {
            if (!entry.isFile()) continue;
            resources.push({ uri: runFileUri(runId, entry.name), name: `${runId}/${entry.name}` });
          }
        }
        return { resources };
      },
    }),
    {
      title: 'Files generated by Jarvis runs',
      description: 'A file a run wrote: jarvis://runs/<run id>/<file>',
    },
    async (uri) => {
      const parsed = parseRunFileUri(uri.href);
      if (!parsed) throw new InputError(`Not a Jarvis run file: ${uri.href}`);
      const config = host.config();
      const folder = runOutputDir(config, parsed.runId);
      // The same confinement as a plan's input path, with the run's folder as the only place allowed.
      const path = await resolveLocalFile(parsed.file, {
        cwd: folder,
        allowedFiles: [],
        allowedDirs: [],
        allowPrivateUrls: false,
        maxDownloadBytes: 0,
        urlTimeoutMs: 1,
      });
      const mimeType = await detectFileType(path);
      const bytes = await readFile(path);
      const isText = mimeType.startsWith('text/') || mimeType === 'application/json';
      return {
        contents: [
          isText
            ? { uri: uri.href, mimeType, text: bytes.toString('utf8') }
            : { uri: uri.href, mimeType, blob: bytes.toString('base64') },
        ],
      };
    },
  );

  return server;
}
