import type { ControllerModel } from './llm.js';
import type { ArtifactSink, ResolvedInputs, TaskOutput } from './output.js';
import type { TaskName } from './tasks.js';

/** What the catalog and selection know about one model of one backend. */
export interface ModelCard {
  /** Model id within its backend ("compromise-ner", "facebook/detr-resnet-50"). */
  id: string;
  backend: string;
  task: TaskName;
  description: string;
  /** Where the card came from: "built-in", "hub", "catalog-file", "cache". */
  source: string;
  downloads?: number;
  likes?: number;
  sizeBytes?: number;
  tags?: string[];
  /** Runs on this machine (no network needed). */
  local: boolean;
  /** Can run now. When false, `reason` says why and what to do. */
  available: boolean;
  reason?: string;
}

/** Tag of a card whose model can run but must be downloaded first: ranked after models that are ready. */
export const DOWNLOAD_ON_FIRST_USE = 'download-on-first-use';

/** `backend:model`, the key under which a model is registered. */
export function modelKey(card: Pick<ModelCard, 'backend' | 'id'>): string {
  return `${card.backend}:${card.id}`;
}

export interface InferenceRequest {
  task: TaskName;
  modelId: string;
  inputs: ResolvedInputs;
  /** Where to write generated files. */
  artifacts: ArtifactSink;
  signal: AbortSignal;
  /** For progress a user should see ("loading model", "downloading 40%"). */
  onProgress?: (message: string) => void;
  /**
   * The controller LLM as the run making this request sees it: an expert that calls the controller uses this
   * one, so that its calls count in the run's usage. Stays on the main thread (never sent to a worker).
   */
  controller?: ControllerModel;
}

/** Version 1 of the backend interface: one object per backend, registered by `id`. */
export interface InferenceBackend {
  readonly specificationVersion: 'v1';
  readonly id: string;
  supports(task: TaskName): boolean;
  listModels(task?: TaskName): Promise<ModelCard[]>;
  infer(request: InferenceRequest): Promise<TaskOutput>;
  /** Frees loaded models and worker processes. */
  close?(): Promise<void>;
}
