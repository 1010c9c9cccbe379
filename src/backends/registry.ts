import type { JarvisConfig } from '../config/schema.js';
import type { InferenceBackend } from '../core/backend.js';
import type { ControllerModel } from '../core/llm.js';
import { createLlmBackend } from './llm/index.js';
import { createLocalBackend } from './local/index.js';

export interface BackendContext {
  config: JarvisConfig;
  controller: ControllerModel | undefined;
}

/** Every backend Jarvis offers, one line each. The catalog and the inference mode decide which are used. */
export function createBackends({ config, controller }: BackendContext): InferenceBackend[] {
  void config;
  return [createLlmBackend(controller), createLocalBackend(controller ? { controller } : {})];
}
