import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { InferenceBackend, InferenceRequest, ModelCard } from '../../core/backend.js';
import {
  CancelledError,
  errorMessage,
  InferenceError,
  JarvisError,
  NoSuchModelError,
} from '../../core/errors.js';
import type { TaskOutput } from '../../core/output.js';
import type { ResourceKind, TaskDefinition, TaskName } from '../../core/tasks.js';
import { toolArguments, toolKinds } from './arguments.js';
import { McpConnection, type McpServerSettings, type McpServerStatus } from './connection.js';
import { type LinkedResourceReader, toTaskOutput } from './content.js';

export type { McpServerSettings, McpServerStatus } from './connection.js';

export const MCP_BACKEND_ID = 'mcp';

/** The longest a tool call may take as far as the SDK is concerned: the task's own timeout governs. */
const NO_SDK_TIMEOUT = 2_147_483_647;

export interface McpBackendOptions {
  /** `mcp.servers`: name -> `{command, args, env}` (stdio) or `{url, headers}` (Streamable HTTP). */
  servers: Record<string, McpServerSettings>;
  /** How long starting a server and listing its tools may take (default 30 s). */
  connectTimeoutMs?: number;
  /**
   * Fetches an http(s) resource a tool linked to, under the URL rules of plans (public addresses only, size
   * and time limits). Without it such links are only named in the text.
   */
  fetchUrl?: (
    url: string,
    kind: 'image' | 'audio' | 'video',
    signal: AbortSignal,
  ) => Promise<{ bytes: Uint8Array; mimeType: string }>;
}

export interface McpBackend extends InferenceBackend {
  /** Each configured server: connected, failed (and why) or not started yet. */
  status(): McpServerStatus[];
  /** Every tool of every server that starts, as a task the planner may use (`server.tool`). */
  taskDefinitions(): Promise<TaskDefinition[]>;
  /** Ends every server connection (stdio servers exit). */
  close(): Promise<void>;
}

/** `everything.echo`: the task an MCP tool becomes. */
export function mcpTaskName(server: string, tool: string): string {
  return `${server}.${tool}`;
}

/** Everything a tool produces may feed a later task; a text argument gets its text. */
const TOOL_OUTPUTS: readonly ResourceKind[] = ['text', 'image', 'audio'];

/**
 * MCP servers as experts: each tool of each configured server is a task and a model (`mcp:server/tool`).
 * Servers start on first use and stay connected; one that crashed is started again on the next call; a call
 * ends when its task's signal aborts (timeout or cancellation), which the server is told.
 */
export function createMcpBackend(options: McpBackendOptions): McpBackend {
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  const connections = new Map<string, McpConnection>();
  for (const [name, settings] of Object.entries(options.servers)) {
    if (settings.disabled) continue;
    connections.set(name, new McpConnection(name, settings, connectTimeoutMs));
  }

  /** The server and tool a task (`server.tool`) or model id (`server/tool`) names. */
  function locate(
    value: string,
    separator: '.' | '/',
  ): { connection: McpConnection; tool: string } | undefined {
    const at = value.indexOf(separator);
    if (at <= 0) return undefined;
    const connection = connections.get(value.slice(0, at));
    return connection ? { connection, tool: value.slice(at + 1) } : undefined;
  }

  function card(connection: McpConnection, tool: Tool): ModelCard {
    return {
      id: `${connection.name}/${tool.name}`,
      backend: MCP_BACKEND_ID,
      task: mcpTaskName(connection.name, tool.name) as TaskName,
      description: tool.description ?? tool.title ?? tool.name,
      source: 'mcp',
      local: connection.isLocal,
      available: true,
      tags: ['mcp'],
    };
  }

  async function cardsOf(connection: McpConnection, tool?: string): Promise<ModelCard[]> {
    try {
      const tools = await connection.listTools();
      return tools
        .filter((entry) => tool === undefined || entry.name === tool)
        .map((entry) => card(connection, entry));
    } catch (error) {
      // One card says why the server is missing, so that `jarvis models` and `doctor` show it.
      return [
        {
          id: connection.name,
          backend: MCP_BACKEND_ID,
          task: (tool === undefined ? connection.name : mcpTaskName(connection.name, tool)) as TaskName,
          description: `MCP server ${connection.name}`,
          source: 'mcp',
          local: connection.isLocal,
          available: false,
          reason: `MCP server "${connection.name}" ${connection.status().error ?? errorMessage(error)}`,
        },
      ];
    }
  }

  function resourcesOf(connection: McpConnection): LinkedResourceReader {
    return {
      async read(uri, signal, mimeType) {
        if (/^https?:/i.test(uri)) {
          if (!options.fetchUrl) return { text: `(linked: ${uri})` };
          // The link's type names the kind the URL rules check the content against; images are the usual case.
          const kind = mimeType?.split('/')[0];
          const fetched = await options.fetchUrl(
            uri,
            kind === 'audio' || kind === 'video' ? kind : 'image',
            signal,
          );
          return { bytes: fetched.bytes, mimeType: fetched.mimeType };
        }
        const client = await connection.connect();
        const { contents } = await client.readResource({ uri }, { signal, timeout: connectTimeoutMs });
        const first = contents[0];
        if (!first) return { text: `(${uri}: empty)` };
        if ('text' in first && typeof first.text === 'string') {
          return { text: first.text, ...(first.mimeType ? { mimeType: first.mimeType } : {}) };
        }
        const blob = (first as { blob?: unknown }).blob;
        return {
          bytes: Buffer.from(typeof blob === 'string' ? blob : '', 'base64'),
          ...(first.mimeType ? { mimeType: first.mimeType } : {}),
        };
      },
    };
  }

  async function infer(request: InferenceRequest): Promise<TaskOutput> {
    const located = locate(request.modelId, '/') ?? locate(request.task, '.');
    if (!located) {
      throw new NoSuchModelError(
        `mcp:${request.modelId}`,
        [...connections.keys()].map((name) => `mcp:${name}/*`),
      );
    }
    const { connection, tool: toolName } = located;
    const model = `${connection.name}/${toolName}`;
    const context = { backend: MCP_BACKEND_ID, model };
    const cancelled = () => new CancelledError(`MCP tool ${model}`);
    let tools: Tool[];
    try {
      tools = await connection.listTools();
    } catch (error) {
      throw new InferenceError(errorMessage(error), { cause: error, retryable: true, context });
    }
    const tool = tools.find((entry) => entry.name === toolName);
    if (!tool) {
      throw new InferenceError(`MCP server "${connection.name}" has no tool "${toolName}"`, { context });
    }
    const args = await toolArguments(tool, request.inputs, { local: connection.isLocal });
    if (request.signal.aborted) throw cancelled();
    const client = await connection.connect();
    let result: Awaited<ReturnType<typeof client.callTool>>;
    try {
      result = await client.callTool({ name: tool.name, arguments: args }, undefined, {
        signal: request.signal,
        timeout: NO_SDK_TIMEOUT,
        onprogress: (progress) => {
          const share = progress.total ? ` ${progress.progress}/${progress.total}` : '';
          request.onProgress?.(`${progress.message ?? 'working'}${share}`);
        },
      });
    } catch (error) {
      if (request.signal.aborted) throw cancelled();
      const stderr = connection.stderr();
      const closed = /connection closed/i.test(errorMessage(error));
      throw new InferenceError(
        closed
          ? `MCP server "${connection.name}" closed the connection during ${tool.name}${stderr ? ` (stderr: ${stderr.split('\n').slice(-3).join(' | ')})` : ''}`
          : /invalid|expected|schema/i.test(errorMessage(error)) && !(error instanceof JarvisError)
            ? `MCP tool ${model} returned malformed content: ${errorMessage(error).slice(0, 300)}`
            : `MCP tool ${model}: ${errorMessage(error)}`,
        { cause: error, retryable: closed, context },
      );
    }
    return toTaskOutput(result as Parameters<typeof toTaskOutput>[0], {
      server: connection.name,
      tool: tool.name,
      artifacts: request.artifacts,
      resources: resourcesOf(connection),
      signal: request.signal,
    });
  }

  return {
    specificationVersion: 'v1',
    id: MCP_BACKEND_ID,
    supports: (task) => locate(task, '.') !== undefined,
    async listModels(task) {
      if (task !== undefined) {
        const located = locate(task, '.');
        return located ? cardsOf(located.connection, located.tool) : [];
      }
      return (await Promise.all([...connections.values()].map((connection) => cardsOf(connection)))).flat();
    },
    infer,
    status: () => [...connections.values()].map((connection) => connection.status()),
    async taskDefinitions() {
      const definitions: TaskDefinition[] = [];
      for (const connection of connections.values()) {
        const tools = await connection.listTools().catch(() => []);
        for (const tool of tools) {
          const kinds = toolKinds(tool);
          definitions.push({
            name: mcpTaskName(connection.name, tool.name),
            description: tool.description ?? tool.title ?? tool.name,
            inputs: kinds.inputs,
            required: kinds.required,
            outputs: TOOL_OUTPUTS,
          });
        }
      }
      return definitions;
    },
    async close() {
      await Promise.all([...connections.values()].map((connection) => connection.close()));
    },
  };
}
