import type { RunEvent } from '../core/events.js';
import type { Artifact } from '../core/output.js';

// The records the store keeps, apart from the store itself: they import no runtime code, so the web UI can
// take the shapes it reads (a conversation, a run's status) from here with `import type`.

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface Conversation {
  id: string;
  title: string;
  /** Where it was started: "web", "api", "openai", "hugginggpt". */
  source: string;
  createdAt: number;
  updatedAt: number;
}

export interface StoredMessage {
  id: number;
  conversationId: string;
  role: 'user' | 'assistant';
  content: string;
  runId: string | null;
  /** Upload ids attached to a user message. */
  files: string[];
  createdAt: number;
}

export interface StoredRun {
  id: string;
  conversationId: string | null;
  request: string;
  status: RunStatus;
  /** The task graph once planned (JSON). */
  plan: unknown;
  /** The whole RunResult once finished (JSON). */
  result: unknown;
  answer: string | null;
  error: { code: string; message: string } | null;
  createdAt: number;
  endedAt: number | null;
}

export interface StoredArtifact {
  id: string;
  runId: string;
  taskId: number | null;
  kind: Artifact['kind'];
  path: string;
  mimeType: string;
  label: string | null;
  createdAt: number;
}

export interface StoredUpload {
  id: string;
  /** The name the user's file had (for display only; never used as a path). */
  name: string;
  path: string;
  mimeType: string;
  kind: 'image' | 'audio' | 'video';
  size: number;
  createdAt: number;
}

export interface StoredEvent {
  seq: number;
  event: RunEvent;
}
