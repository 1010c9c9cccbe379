import {
  CancelledError,
  ConfigError,
  InferenceError,
  InputError,
  JarvisError,
  ModelUnavailableError,
  NoSuchModelError,
  TimeoutError,
} from '../../core/errors.js';
import type { Artifact, ResolvedInputs, TaskOutput } from '../../core/output.js';
import type { TaskName } from '../../core/tasks.js';
import type { TransformersBackendOptions } from '../transformers/index.js';

/**
 * The messages between the main thread and an expert worker. Everything here is structured-clone data:
 * a request carries file paths, never open handles; artifacts travel as bytes and are written by the
 * main thread's ArtifactSink, so the run folder has one writer.
 */

/** Which backend a worker builds to run a job: the local experts, or transformers.js with these settings. */
export type WorkerBackendSpec =
  | { kind: 'local' }
  | { kind: 'transformers'; options: Omit<TransformersBackendOptions, 'curated'> };

export interface JobRequest {
  task: TaskName;
  modelId: string;
  inputs: ResolvedInputs;
}

export type MainToWorker =
  | { type: 'run'; job: number; backend: WorkerBackendSpec; request: JobRequest }
  | { type: 'artifact-written'; call: number; artifact: Artifact }
  | { type: 'artifact-failed'; call: number; error: SerializedError };

export interface ArtifactFile {
  kind: Artifact['kind'];
  bytes: Uint8Array;
  mimeType: string;
  extension: string;
  label?: string;
}

export type WorkerToMain =
  | { type: 'progress'; job: number; message: string }
  | { type: 'artifact'; job: number; call: number; file: ArtifactFile }
  | { type: 'done'; job: number; output: TaskOutput }
  | { type: 'failed'; job: number; error: SerializedError };

/** The environment variable, set to the worker's thread id, that every program a worker starts inherits. */
export const WORKER_TAG = 'JARVIS_POOL_WORKER';

/** What a worker is started with: where to list the programs it starts (see `Slot.childPids`). */
export interface WorkerData {
  childPids: SharedArrayBuffer;
}

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  retryable?: boolean;
  context?: Record<string, unknown>;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof JarvisError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      retryable: error.retryable,
      context: cloneable(error.context),
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

// The error classes whose type the stages look at (a fallback after model-unavailable, for one).
const CLASSES: Record<string, { prototype: object }> = {
  config: ConfigError,
  input: InputError,
  'no-such-model': NoSuchModelError,
  'model-unavailable': ModelUnavailableError,
  inference: InferenceError,
  timeout: TimeoutError,
  cancelled: CancelledError,
};

/** The worker's error as the same class, code, message and context on this side of the boundary. */
export function reviveError(serialized: SerializedError): Error {
  if (serialized.code === undefined) {
    const error = new Error(serialized.message);
    error.name = serialized.name;
    return error;
  }
  const error = new JarvisError(serialized.code, serialized.message, {
    retryable: serialized.retryable ?? false,
    context: serialized.context ?? {},
  });
  const known = CLASSES[serialized.code];
  if (known) Object.setPrototypeOf(error, known.prototype);
  error.name = serialized.name;
  return error;
}

/** An error context may hold anything; only what survives structured cloning crosses over. */
function cloneable(context: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(context);
  } catch {
    return JSON.parse(
      JSON.stringify(context, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value)),
    ) as Record<string, unknown>;
  }
}
