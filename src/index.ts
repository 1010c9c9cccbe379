/**
 * The public API of the `jarvis-hugginggpt` package. What is exported here is what we promise to keep;
 * everything else under dist/ may change between releases. Importing this module loads only the config
 * schema and the error classes: the pipeline is loaded by `createJarvis`, heavy expert runtimes on first use.
 */

export type { LoadConfigOptions, LoadedConfig } from './config/load.js';
export { loadConfig } from './config/load.js';
export type { JarvisConfig } from './config/schema.js';
export type { InferenceBackend, InferenceRequest, ModelCard } from './core/backend.js';
export { modelKey } from './core/backend.js';
export type { ErrorContext } from './core/errors.js';
export {
  CancelledError,
  ConfigError,
  InferenceError,
  InputError,
  JarvisError,
  LlmError,
  ModelUnavailableError,
  NoSuchModelError,
  PlanError,
  TimeoutError,
} from './core/errors.js';
export type {
  ModelChoice,
  RunEvent,
  RunEventListener,
  RunResult,
  TaskResult,
  TaskStatus,
  UsageReport,
} from './core/events.js';
export type { PlannedTask, TaskArgs, TaskGraph } from './core/graph.js';
export { generatedRef } from './core/graph.js';
export type {
  ChatMessage,
  ChatRequest,
  ChatResult,
  ControllerModel,
  LlmStage,
  TokenUsage,
} from './core/llm.js';
export type { Artifact, ArtifactSink, InputFile, ResolvedInputs, TaskOutput } from './core/output.js';
export type { ResourceKind, TaskName } from './core/tasks.js';
export type { JarvisConfigInput, ResolveConfigOptions } from './library/config.js';
export { defineConfig, resolveConfig } from './library/config.js';
export type {
  CreateJarvisOptions,
  Jarvis,
  JarvisRunOptions,
  PlanOutcome,
  PlanRequestOptions,
  RunStream,
} from './library/create-jarvis.js';
export { createJarvis } from './library/create-jarvis.js';
