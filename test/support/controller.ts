import type { ControllerModel } from '../../src/core/llm.js';
import {
  createOpenAICompatibleController,
  type OpenAICompatibleSettings,
} from '../../src/llm/openai-compatible.js';

/** The real OpenAI-compatible controller, pointed at a loopback test server, with settings that suit tests. */
export function testController(
  server: { baseURL: string },
  overrides: Partial<OpenAICompatibleSettings> = {},
): ControllerModel {
  return createOpenAICompatibleController({
    baseURL: server.baseURL,
    model: 'test-model',
    contextTokens: 8000,
    timeoutMs: 10_000,
    maxRetries: 0,
    structuredOutputs: true,
    temperature: 0,
    ...overrides,
  });
}
