import { errorMessage, LlmReplyTooLargeError, PlanError } from '../core/errors.js';
import type { RunEventListener } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { ChatMessage, ControllerModel, TokenUsage } from '../core/llm.js';
import type { TaskName } from '../core/tasks.js';
import { parsePlanText } from './parse.js';
import { buildPlanMessages, planJsonSchemaFor, repairMessage } from './prompt.js';
import { validatePlan } from './validate.js';

export { planFromFile } from './formats.js';
export { parsePlanText } from './parse.js';
export {
  buildPlanMessages,
  PLAN_DEMOS,
  type PlanPromptOptions,
  planJsonSchema,
  planJsonSchemaFor,
  planSystemPrompt,
  repairMessage,
} from './prompt.js';
export { closestTask, type ValidatedPlan, type ValidateOptions, validatePlan } from './validate.js';

export interface PlanOptions {
  request: string;
  history?: ChatMessage[];
  controller: ControllerModel;
  maxHistoryMessages?: number;
  signal?: AbortSignal;
  onEvent?: RunEventListener;
  /** Restrict planning to these tasks (e.g. those some backend can run); default: the whole vocabulary. */
  availableTasks?: readonly TaskName[];
}

export interface PlanOutcome {
  /** The plan to run; empty when no task is needed or when planning failed (`ok: false`). */
  plan: TaskGraph;
  /** What was still wrong after the repair round; empty when ok. */
  problems: string[];
  ok: boolean;
  /** The LLM's last reply, as text. */
  raw: string;
  /** Token usage of the planning calls (one, or two with a repair round). */
  usage: TokenUsage;
  llmCalls: number;
}

interface Attempt {
  plan: TaskGraph;
  problems: string[];
}

/**
 * Reads and checks one reply. Whatever the reply holds, the outcome is problems, never an exception: a
 * reply is the LLM's (or a prompt injection's) text, and a run whose plan cannot be read answers by chat.
 */
function evaluate(text: string, availableTasks: readonly TaskName[] | undefined): Attempt {
  try {
    const { tasks } = parsePlanText(text);
    return validatePlan(tasks, availableTasks ? { availableTasks } : {});
  } catch (error) {
    if (error instanceof PlanError) return { plan: [], problems: error.problems };
    return { plan: [], problems: [`The plan could not be read: ${errorMessage(error)}`] };
  }
}

/**
 * Stage 1: asks the controller for a task graph, parses and validates it, and on problems gives the LLM one
 * chance to repair its reply. A plan still invalid after that is not run: the outcome is `ok: false` with
 * an empty plan, and the run answers by plain chat, as HuggingGPT does. LLM failures are thrown.
 */
export async function planTasks(options: PlanOptions): Promise<PlanOutcome> {
  const emit = options.onEvent ?? (() => {});
  emit({ type: 'plan-start', at: Date.now() });
  const messages = buildPlanMessages({
    request: options.request,
    history: options.history ?? [],
    contextTokens: options.controller.contextTokens,
    ...(options.maxHistoryMessages === undefined ? {} : { maxHistoryMessages: options.maxHistoryMessages }),
    ...(options.availableTasks ? { availableTasks: options.availableTasks } : {}),
  });
  const jsonSchema = planJsonSchemaFor(options.availableTasks);
  const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  /** One reply and what is wrong with it; a reply too large to read is a problem of the reply, not a failure. */
  const ask = async (conversation: ChatMessage[]): Promise<[string, Attempt]> => {
    try {
      const result = await options.controller.chat({
        stage: 'plan',
        messages: conversation,
        jsonSchema,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      usage.inputTokens += result.usage.inputTokens;
      usage.outputTokens += result.usage.outputTokens;
      return [result.text, evaluate(result.text, options.availableTasks)];
    } catch (error) {
      if (!(error instanceof LlmReplyTooLargeError)) throw error;
      return ['', { plan: [], problems: [error.message] }];
    }
  };

  const [first, firstAttempt] = await ask(messages);
  let attempt = firstAttempt;
  if (attempt.problems.length === 0) {
    emit({ type: 'plan-done', plan: attempt.plan, source: 'llm', at: Date.now() });
    return { plan: attempt.plan, problems: [], ok: true, raw: first, usage, llmCalls: 1 };
  }

  emit({ type: 'plan-repair', problems: attempt.problems, at: Date.now() });
  const [second, secondAttempt] = await ask([
    ...messages,
    { role: 'assistant', content: first },
    { role: 'user', content: repairMessage(attempt.problems) },
  ]);
  attempt = secondAttempt;
  if (attempt.problems.length === 0) {
    emit({ type: 'plan-done', plan: attempt.plan, source: 'llm', at: Date.now() });
    return { plan: attempt.plan, problems: [], ok: true, raw: second, usage, llmCalls: 2 };
  }
  emit({
    type: 'plan-error',
    message: 'The controller could not produce a valid plan, even after a repair round',
    problems: attempt.problems,
    at: Date.now(),
  });
  return { plan: [], problems: attempt.problems, ok: false, raw: second, usage, llmCalls: 2 };
}
