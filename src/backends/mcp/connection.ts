import { createRequire } from 'node:module';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage, redact } from '../../core/errors.js';

/** One entry of `mcp.servers`, in the shape desktop clients use for `mcpServers`. */
export type McpServerSettings =
  | {
      command: string;
      args?: string[];
      env?: Record<string, string>;
      cwd?: string;
      type?: 'stdio';
      disabled?: boolean;
    }
  | { url: string; headers?: Record<string, string>; type?: 'http' | 'streamable-http'; disabled?: boolean };

export interface McpServerStatus {
  name: string;
  state: 'not-started' | 'connected' | 'failed' | 'closed';
  /** Why it failed or closed, with the last lines it wrote to stderr. */
  error?: string;
  tools?: number;
}

/** Lines of a server's stderr kept for error messages: a crash usually says why in its last words. */
const STDERR_LINES = 20;

/** A server that failed to start is not started again for this long: listings would otherwise respawn it each time. */
const RETRY_AFTER_FAILURE_MS = 5_000;

function packageVersion(): string {
  const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };
  return version;
}

/**
 * A lazily opened, kept-alive connection to one MCP server. A server that exits or drops the connection is
 * started again on the next use; one that cannot start reports why, and the error is kept for `status()`.
 */
export class McpConnection {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private tools: Tool[] | undefined;
  private stderrTail: string[] = [];
  private lastError: string | undefined;
  private closed = false;
  private restarts = 0;
  private failedAt = 0;

  constructor(
    readonly name: string,
    private readonly settings: McpServerSettings,
    private readonly connectTimeoutMs: number,
  ) {}

  get isLocal(): boolean {
    return 'command' in this.settings;
  }

  status(): McpServerStatus {
    if (this.client) return { name: this.name, state: 'connected', tools: this.tools?.length ?? 0 };
    if (this.lastError) return { name: this.name, state: 'failed', error: this.lastError };
    return { name: this.name, state: this.closed ? 'closed' : 'not-started' };
  }

  /** The connected client, connecting (or reconnecting after a crash) first. */
  async connect(): Promise<Client> {
    if (this.closed) throw new Error(`MCP server "${this.name}" is closed`);
    if (this.client) return this.client;
    if (this.lastError && !this.connecting && Date.now() - this.failedAt < RETRY_AFTER_FAILURE_MS) {
      throw new Error(`MCP server "${this.name}" ${this.lastError}`);
    }
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** The server's tools, listed once per connection (all pages). */
  async listTools(): Promise<Tool[]> {
    const client = await this.connect();
    if (this.tools) return this.tools;
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { timeout: this.connectTimeoutMs });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor && tools.length < 10_000);
    this.tools = tools;
    return tools;
  }

  /** What the server wrote to stderr lately, for error messages. */
  stderr(): string {
    return this.stderrTail.join('\n');
  }

  /** The SDK's client side is loaded when a server is first used, not by every command that lists backends. */
  private async transport(): Promise<Transport> {
    const settings = this.settings;
    if ('command' in settings) {
      const { getDefaultEnvironment, StdioClientTransport } = await import(
        '@modelcontextprotocol/sdk/client/stdio.js'
      );
      const transport = new StdioClientTransport({
        command: settings.command,
        ...(settings.args ? { args: settings.args } : {}),
        env: { ...getDefaultEnvironment(), ...(settings.env ?? {}) },
        ...(settings.cwd ? { cwd: settings.cwd } : {}),
        stderr: 'pipe',
      });
      transport.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (line.trim()) this.stderrTail.push(line.trimEnd());
        }
        if (this.stderrTail.length > STDERR_LINES)
          this.stderrTail.splice(0, this.stderrTail.length - STDERR_LINES);
      });
      return transport;
    }
    let url: URL;
    try {
      url = new URL(settings.url);
    } catch {
      throw new Error(`mcp.servers.${this.name}.url is not a valid URL`);
    }
    const { StreamableHTTPClientTransport } = await import(
      '@modelcontextprotocol/sdk/client/streamableHttp.js'
    );
    return new StreamableHTTPClientTransport(url, {
      ...(settings.headers ? { requestInit: { headers: settings.headers } } : {}),
    });
  }

  private async open(): Promise<Client> {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const client = new Client({ name: 'jarvis', version: packageVersion() });
    this.stderrTail = [];
    let transport: Transport;
    try {
      transport = await this.transport();
      await client.connect(transport, { timeout: this.connectTimeoutMs });
    } catch (error) {
      await client.close().catch(() => {});
      const detail = this.stderr();
      this.lastError = redact(
        `could not start: ${errorMessage(error)}${detail ? ` (stderr: ${detail.split('\n').slice(-3).join(' | ')})` : ''}`,
        'headers' in this.settings ? Object.values(this.settings.headers ?? {}) : [],
      );
      this.failedAt = Date.now();
      throw new Error(`MCP server "${this.name}" ${this.lastError}`);
    }
    this.lastError = undefined;
    this.client = client;
    this.tools = undefined;
    // A server that exits or drops the connection is forgotten: the next use starts it again.
    client.onclose = () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.tools = undefined;
      this.restarts += 1;
      if (!this.closed) {
        const detail = this.stderr();
        this.lastError = `connection closed${detail ? ` (stderr: ${detail.split('\n').slice(-3).join(' | ')})` : ''}`;
      }
    };
    return client;
  }

  /** How many times the connection was lost since it was created (for tests and status). */
  get lostConnections(): number {
    return this.restarts;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.close().catch(() => {});
  }
}
