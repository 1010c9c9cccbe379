export { boundJsonSchema, DEFAULT_SCHEMA_LIMITS, type SchemaLimits } from './bounded-schema.js';
export { createEmbeddedController, type EmbeddedControllerOptions } from './controller.js';
export {
  createEmbeddedControllerFromConfig,
  type EmbeddedModelStatus,
  inspectEmbeddedModel,
} from './from-config.js';
export {
  DEFAULT_LOCAL_MODEL,
  findCachedModel,
  isModelReference,
  modelCacheDir,
  noLocalModelMessage,
  resolveModelPath,
} from './model-file.js';
export { defaultThreads, disposeEmbeddedModels } from './runtime.js';
