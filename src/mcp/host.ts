import type { JarvisConfig } from '../config/schema.js';
import type { ModelCard } from '../core/backend.js';
import type { RunEvent, RunResult } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { Jarvis } from '../run/index.js';

/** One run asked for through an MCP tool. */
export interface McpRunRequest {
  request: string;
  /** A one-task plan for a task tool; absent for the `jarvis` tool, which plans. */
  plan?: TaskGraph;
  answer: boolean;
  select?: 'llm' | 'top';
  /** Files the run may read besides the host's own rules (decoded base64 content, staged by the tool). */
  inputFiles: string[];
  /** Earlier runs of this MCP session whose files later calls may use. */
  earlierRunIds: string[];
  signal: AbortSignal;
  onEvent: (event: RunEvent) => void;
}

/**
 * What the MCP server needs from where it runs: the pipeline's settings and models, and a way to start a
 * run under that place's rules (the working folder of `jarvis mcp`; the server's per-run workspace, API-key
 * run limits and saved runs for `/mcp` on `jarvis serve`).
 */
export interface McpHost {
  config(): JarvisConfig;
  models(): Promise<ModelCard[]>;
  /** The whole-pipeline tool is offered only where a controller LLM is configured. */
  hasController(): boolean;
  run(request: McpRunRequest): Promise<RunResult>;
}

/** The host of `jarvis mcp`: runs read files under the working folder and the folders of earlier runs. */
export function pipelineHost(jarvis: Jarvis, cwd: string): McpHost {
  return {
    config: () => jarvis.config,
    models: () => jarvis.catalog.list(),
    hasController: () => jarvis.controller !== undefined,
    run: (request) =>
      jarvis.run({
        request: request.request,
        ...(request.plan ? { plan: request.plan } : {}),
        answer: request.answer,
        ...(request.select ? { select: request.select } : {}),
        inputFiles: request.inputFiles,
        cwd,
        signal: request.signal,
        onEvent: request.onEvent,
      }),
  };
}
