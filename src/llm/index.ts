import type { JarvisConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { ControllerModel } from '../core/llm.js';
import { createEmbeddedControllerFromConfig } from './embedded/from-config.js';
import { DEFAULT_LOCAL_MODEL } from './embedded/model-file.js';
import { createOpenAICompatibleController, settingsFromConfig } from './openai-compatible.js';

export { createOpenAICompatibleController } from './openai-compatible.js';

export const LLM_NOT_CONFIGURED =
  'No controller LLM is configured. Either (1) set JARVIS_LLM_BASE_URL to an OpenAI-compatible endpoint (e.g. ' +
  'https://api.openai.com/v1, or http://127.0.0.1:11434/v1 for Ollama) with JARVIS_LLM_API_KEY and JARVIS_LLM_MODEL; ' +
  'or (2) set JARVIS_LOCAL_MODEL to a GGUF file to run the model inside Jarvis; or (3) when online, set ' +
  `JARVIS_LOCAL_MODEL=${DEFAULT_LOCAL_MODEL} to download the default local model once (about 2.5 GB). ` +
  'Or run without the LLM: --plan FILE --select top --no-answer.';

/**
 * The controller the config asks for, or undefined when none is configured: the endpoint when
 * `llm.baseURL` is set, else the embedded model (`llm.localModel`, or the default one when it is cached).
 */
export async function createController(config: JarvisConfig): Promise<ControllerModel | undefined> {
  const settings = settingsFromConfig(config);
  if (settings) return createOpenAICompatibleController(settings);
  return createEmbeddedControllerFromConfig(config, {
    onProgress: (message) => process.stderr.write(`${message}\n`),
  });
}

/** The controller, or a ConfigError that says what to set. */
export function requireController(controller: ControllerModel | undefined, why: string): ControllerModel {
  if (!controller) throw new ConfigError(`${why} needs the controller LLM. ${LLM_NOT_CONFIGURED}`);
  return controller;
}
