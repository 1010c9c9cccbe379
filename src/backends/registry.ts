import { join } from 'node:path';
import { inferenceCacheDir } from '../catalog/from-config.js';
import type { JarvisConfig } from '../config/schema.js';
import type { InferenceBackend } from '../core/backend.js';
import type { ControllerModel } from '../core/llm.js';
import { createHfInferenceBackend } from './hf-inference/index.js';
import { createLlmBackend } from './llm/index.js';
import { createLocalBackend, LOCAL_EXPERTS } from './local/index.js';
import { mcpBackendFor } from './mcp/from-config.js';
import { acquireSharedPool, createPooledBackend, defaultPoolSize } from './pool/index.js';
import { createTransformersBackend, type TransformersBackendOptions } from './transformers/index.js';

export interface BackendContext {
  config: JarvisConfig;
  controller: ControllerModel | undefined;
}

/** Experts that stay on the main thread (they call the controller LLM): the rest run in the worker pool. */
const MAIN_THREAD_EXPERTS = new Set(
  LOCAL_EXPERTS.filter((expert) => expert.mainThread).map((expert) => expert.id),
);

/** Every backend Jarvis offers, one line each. The catalog and the inference mode decide which are used. */
export function createBackends({ config, controller }: BackendContext): InferenceBackend[] {
  const transformersOptions: TransformersBackendOptions = {
    cacheDir: join(inferenceCacheDir(config), 'models'),
    offline: config.inference.offline,
    ...(config.inference.hubUrl ? { remoteHost: config.inference.hubUrl } : {}),
  };
  const local = createLocalBackend(controller ? { controller } : {});
  const transformers = createTransformersBackend(transformersOptions);
  const workers = config.experts.workers ?? defaultPoolSize();
  const hf = createHfInferenceBackend({
    ...(config.inference.hfToken ? { token: config.inference.hfToken } : {}),
    ...(config.inference.hubUrl ? { hubUrl: config.inference.hubUrl } : {}),
  });
  if (workers === 0) return [createLlmBackend(controller), local, hf, transformers, ...mcpBackendFor(config)];
  // CPU-heavy experts run in worker threads; listing models and availability stay here (cheap).
  const localPool = acquireSharedPool({ size: workers });
  const transformersPool = acquireSharedPool({ size: workers });
  return [
    createLlmBackend(controller),
    createPooledBackend(local, {
      pool: localPool.pool,
      spec: { kind: 'local' },
      onMainThread: (request) => MAIN_THREAD_EXPERTS.has(request.modelId),
      release: localPool.release,
    }),
    // Hugging Face: remote Inference Providers (needs HF_TOKEN) and ONNX models on the CPU.
    hf,
    {
      ...createPooledBackend(transformers, {
        pool: transformersPool.pool,
        spec: { kind: 'transformers', options: transformersOptions },
        release: transformersPool.release,
      }),
      // `jarvis pull` downloads on the main thread: it is network and disk, and it must not load the model twice.
      download: transformers.download,
    } as InferenceBackend,
    ...mcpBackendFor(config),
  ];
}
