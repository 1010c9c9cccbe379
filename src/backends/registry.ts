import { join } from 'node:path';
import { inferenceCacheDir } from '../catalog/from-config.js';
import type { JarvisConfig } from '../config/schema.js';
import type { InferenceBackend } from '../core/backend.js';
import type { ControllerModel } from '../core/llm.js';
import { createHfInferenceBackend } from './hf-inference/index.js';
import { createLlmBackend } from './llm/index.js';
import { createLocalBackend } from './local/index.js';
import { createTransformersBackend } from './transformers/index.js';

export interface BackendContext {
  config: JarvisConfig;
  controller: ControllerModel | undefined;
}

/** Every backend Jarvis offers, one line each. The catalog and the inference mode decide which are used. */
export function createBackends({ config, controller }: BackendContext): InferenceBackend[] {
  return [
    createLlmBackend(controller),
    createLocalBackend(controller ? { controller } : {}),
    // Hugging Face: remote Inference Providers (needs HF_TOKEN) and ONNX models on the CPU.
    createHfInferenceBackend({
      ...(config.inference.hfToken ? { token: config.inference.hfToken } : {}),
      ...(config.inference.hubUrl ? { hubUrl: config.inference.hubUrl } : {}),
    }),
    createTransformersBackend({
      cacheDir: join(inferenceCacheDir(config), 'models'),
      offline: config.inference.offline,
      ...(config.inference.hubUrl ? { remoteHost: config.inference.hubUrl } : {}),
    }),
  ];
}
