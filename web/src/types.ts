// The shapes of the server's JSON, as far as the UI reads them. Records the server sends as they are come from
// its own type-only modules (`import type` is erased, so no server code reaches the bundle); the rest are
// written here from the API, where the JSON differs from the server's types (artifacts carry their URL).
import type { TaskStatus } from '../../src/core/events.js';
import type { PlannedTask } from '../../src/core/graph.js';
import type { RunEventOf } from '../../src/core/run-state.js';
import type { TaskView as ServerTaskView } from '../../src/server/task-view.js';
import type { Conversation, RunStatus } from '../../src/store/types.js';

export type { Conversation, RunStatus, TaskStatus };

export interface UploadedFile {
  id: string;
  name: string;
  kind: 'image' | 'audio' | 'video';
  mimeType: string;
  size: number;
  url: string;
}

export interface Message {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  runId: string | null;
  files: UploadedFile[];
  createdAt: number;
}

export interface Artifact {
  kind: 'image' | 'audio' | 'video';
  path: string;
  mimeType: string;
  label?: string;
  url: string | null;
}

export interface TaskOutput {
  text?: string;
  /** How the expert got its result ("scene text (2 lines found and read by PaddleOCR)"). */
  how?: string;
  data?: unknown;
  artifacts?: Artifact[];
}

export interface TaskResult {
  id: number;
  task: string;
  args: Record<string, string>;
  status: 'succeeded' | 'failed' | 'skipped';
  model: string | null;
  backend: string | null;
  reason: string | null;
  durationMs: number | null;
  output: TaskOutput | null;
  error: { code: string; message: string } | null;
}

export type { PlannedTask };

export type TaskView = ServerTaskView<TaskResult>;

export interface RunView {
  id: string;
  conversationId: string | null;
  status: RunStatus;
  request: string;
  plan: PlannedTask[] | null;
  tasks: TaskView[];
  answer: string | null;
  error: { code: string; message: string } | null;
  errors: { stage: string; code: string; message: string }[];
  createdAt: number;
  endedAt: number | null;
  durationMs: number | null;
}

export interface ConversationDetail {
  conversation: Conversation;
  messages: Message[];
  runs: RunView[];
}

export interface Settings {
  llm: { baseURL: string | null; model: string; apiKeySet: boolean };
  inference: { mode: 'local' | 'huggingface' | 'hybrid' };
  modes: string[];
  /** Fields the server's environment or flags set; Settings cannot change them. */
  locked?: ('llm.baseURL' | 'llm.model' | 'llm.apiKey' | 'inference.mode')[];
}

/** The run events the server streams, their task results carrying file URLs. */
export type RunEvent = RunEventOf<TaskResult>;
