import type { InferenceBackend, InferenceRequest, ModelCard } from '../../core/backend.js';
import { InferenceError } from '../../core/errors.js';
import type { ChatMessage, ControllerModel } from '../../core/llm.js';
import type { TaskOutput } from '../../core/output.js';
import { LLM_TEXT_TASKS, type TaskName } from '../../core/tasks.js';

/** What the controller is asked to do for each text task it performs itself, as HuggingGPT does. */
const INSTRUCTIONS: Partial<Record<TaskName, string>> = {
  summarization: 'Summarize the text below in a few sentences. Reply with the summary only.',
  translation:
    'Translate the text below. If it names a target language, translate into it; otherwise translate into English. Reply with the translation only.',
  conversational: 'Reply to the message below as a helpful assistant.',
  'text-generation': 'Continue or complete the text below as asked. Reply with the generated text only.',
  'text2text-generation': 'Carry out the instruction in the text below. Reply with the result only.',
  'question-answering':
    'Answer the question below using only the context it contains. Reply with the answer only; say "unknown" if the context does not contain it.',
};

const DESCRIPTIONS: Partial<Record<TaskName, string>> = {
  summarization: 'Summarizes text with the controller LLM.',
  translation: 'Translates between languages with the controller LLM.',
  conversational: 'Chats with the controller LLM.',
  'text-generation': 'Generates text with the controller LLM.',
  'text2text-generation': 'Follows a text instruction with the controller LLM.',
  'question-answering': 'Answers a question about a given text with the controller LLM.',
};

/**
 * The `llm` backend: text tasks the controller performs itself. It appears in the catalog like any other
 * backend, unavailable (with the reason) when no controller is configured.
 */
export function createLlmBackend(controller: ControllerModel | undefined): InferenceBackend {
  const cards = (task?: TaskName): ModelCard[] =>
    LLM_TEXT_TASKS.filter((candidate) => task === undefined || candidate === task).map((candidate) => ({
      id: 'controller',
      backend: 'llm',
      task: candidate,
      description: `${DESCRIPTIONS[candidate] ?? 'Text task done by the controller LLM.'}${
        controller ? ` Model: ${controller.id}.` : ''
      }`,
      source: 'built-in',
      local: false,
      available: controller !== undefined,
      ...(controller
        ? {}
        : {
            reason:
              'no controller LLM configured (set JARVIS_LLM_BASE_URL, or JARVIS_LOCAL_MODEL to a GGUF file)',
          }),
    }));

  return {
    specificationVersion: 'v1',
    id: 'llm',
    supports: (task) => LLM_TEXT_TASKS.includes(task),
    listModels: async (task) => cards(task),
    async infer(request: InferenceRequest): Promise<TaskOutput> {
      // The run's own view of the controller when it gives one: the call then counts in the run's usage.
      const llm = request.controller ?? controller;
      if (!llm) {
        throw new InferenceError(
          'The llm backend needs a controller LLM; set JARVIS_LLM_BASE_URL or JARVIS_LOCAL_MODEL.',
          {
            context: { backend: 'llm', task: request.task },
          },
        );
      }
      const instruction = INSTRUCTIONS[request.task];
      if (!instruction) {
        throw new InferenceError(`The llm backend does not perform ${request.task}.`, {
          context: { backend: 'llm', task: request.task },
        });
      }
      const text = request.inputs.text ?? '';
      if (text.trim() === '') {
        throw new InferenceError(`${request.task} needs a text argument.`, {
          context: { task: request.task },
        });
      }
      const messages: ChatMessage[] = [
        { role: 'system', content: instruction },
        { role: 'user', content: text },
      ];
      const result = await llm.chat({ stage: 'execute', messages, signal: request.signal });
      return { text: result.text.trim() };
    },
  };
}
