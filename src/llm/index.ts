import type { JarvisConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { ControllerModel } from '../core/llm.js';
import { createOpenAICompatibleController, settingsFromConfig } from './openai-compatible.js';

export { createOpenAICompatibleController } from './openai-compatible.js';

export const LLM_NOT_CONFIGURED =
  'No controller LLM is configured. Set JARVIS_LLM_BASE_URL (an OpenAI-compatible endpoint, e.g. ' +
  'https://api.openai.com/v1 or http://127.0.0.1:11434/v1 for Ollama) with JARVIS_LLM_API_KEY and JARVIS_LLM_MODEL, ' +
  'or run without the LLM: --plan FILE --select top --no-answer.';

/** The controller the config asks for, or undefined when none is configured. */
export async function createController(config: JarvisConfig): Promise<ControllerModel | undefined> {
  const settings = settingsFromConfig(config);
  if (settings) return createOpenAICompatibleController(settings);
  return undefined;
}

/** The controller, or a ConfigError that says what to set. */
export function requireController(controller: ControllerModel | undefined, why: string): ControllerModel {
  if (!controller) throw new ConfigError(`${why} needs the controller LLM. ${LLM_NOT_CONFIGURED}`);
  return controller;
}
