import type { InferenceRequest } from '../../core/backend.js';
import type { ControllerModel } from '../../core/llm.js';
import type { TaskOutput } from '../../core/output.js';
import type { TaskName } from '../../core/tasks.js';

/** What every local expert may use besides its request. */
export interface ExpertContext {
  /** The controller LLM, for experts that read text with it (document question answering). */
  controller?: ControllerModel;
  log: (message: string) => void;
}

/**
 * One offline expert model. Adding an expert is one file exporting one of these plus one line in
 * `registry.ts`.
 */
export interface LocalExpert {
  /** Model id within the `local` backend ("compromise-ner"). */
  readonly id: string;
  readonly task: TaskName;
  /** Honest model card text: what it is, what it recognizes, its limits. */
  readonly description: string;
  /** Approximate size of the weights or package on disk. */
  readonly sizeBytes?: number;
  readonly tags?: string[];
  /**
   * Why the expert cannot run on this machine, with the exact fix, or undefined when it can. Must be
   * cheap (no model loading); the backend calls it once per process and caches the answer.
   */
  checkAvailable?(context: ExpertContext): Promise<string | undefined>;
  /**
   * Set (to the reason) for an expert that must run on the main thread rather than in the worker pool: one
   * that calls the controller LLM, which cannot cross into a worker.
   */
  readonly mainThread?: string;
  run(request: InferenceRequest, context: ExpertContext): Promise<TaskOutput>;
}
