import type { JarvisConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { ControllerModel } from '../core/llm.js';
import { createEmbeddedControllerFromConfig } from './embedded/from-config.js';
import { DEFAULT_LOCAL_MODEL, DEFAULT_LOCAL_MODEL_SIZE } from './embedded/model-file.js';
import { createOpenAICompatibleController, settingsFromConfig } from './openai-compatible.js';

export { createOpenAICompatibleController } from './openai-compatible.js';

/**
 * Said when there is no controller at all, which happens only when no endpoint or local model is set and the
 * default model is neither cached nor allowed to download (offline, or automatic download off).
 */
export const LLM_NOT_CONFIGURED =
  'No controller LLM is configured, and the default local model is not in the cache and may not be downloaded ' +
  '(JARVIS_OFFLINE=1 or JARVIS_LLM_AUTO_DOWNLOAD=0). Either (1) set JARVIS_LLM_BASE_URL to an OpenAI-compatible ' +
  'endpoint (e.g. https://api.openai.com/v1, or http://127.0.0.1:11434/v1 for Ollama) with JARVIS_LLM_API_KEY and ' +
  'JARVIS_LLM_MODEL; or (2) set JARVIS_LOCAL_MODEL to a GGUF file to run the model inside Jarvis; or (3) allow ' +
  `the download of the default local model ${DEFAULT_LOCAL_MODEL} (${DEFAULT_LOCAL_MODEL_SIZE}, once): go online ` +
  `without JARVIS_OFFLINE and JARVIS_LLM_AUTO_DOWNLOAD=0, or set JARVIS_LOCAL_MODEL=${DEFAULT_LOCAL_MODEL}. ` +
  'Or run without the LLM: --plan FILE --select top --no-answer.';

/**
 * The controller the config asks for, or undefined when there is none: the endpoint when `llm.baseURL` is
 * set, else the embedded model (`llm.localModel`, or the default one: from the cache, or downloaded on the
 * first LLM call unless offline or `llm.autoDownload` is off). Nothing is downloaded here.
 */
export async function createController(
  config: JarvisConfig,
  options: { onProgress?: (message: string) => void } = {},
): Promise<ControllerModel | undefined> {
  const settings = settingsFromConfig(config);
  if (settings) return createOpenAICompatibleController(settings);
  return createEmbeddedControllerFromConfig(config, {
    onProgress: options.onProgress ?? ((message) => process.stderr.write(`jarvis: ${message}\n`)),
  });
}

/** The controller, or a ConfigError that says what to set. */
export function requireController(controller: ControllerModel | undefined, why: string): ControllerModel {
  if (!controller) throw new ConfigError(`${why} needs the controller LLM. ${LLM_NOT_CONFIGURED}`);
  return controller;
}
