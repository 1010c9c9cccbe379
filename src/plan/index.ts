import { errorMessage, LlmReplyTooLargeError, PlanError } from '../core/errors.js';
import type { RunEventListener } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { ChatMessage, ControllerModel, TokenUsage } from '../core/llm.js';
import type { TaskName, TaskVocabulary } from '../core/tasks.js';
import { planGrammarSteps } from './grammar.js';
import { parsePlanText } from './parse.js';
import { buildPlanMessages, planJsonSchemaFor, repairMessage } from './prompt.js';
import { validatePlan } from './validate.js';

export { planFromFile } from './formats.js';
export { MAX_GRAMMAR_TASKS, PlanGrammar, planGrammarSteps } from './grammar.js';
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

export interface PlanOptions<Name extends string = TaskName> {
  request: string;
  history?: ChatMessage[];
  controller: ControllerModel;
  maxHistoryMessages?: number;
  signal?: AbortSignal;
  onEvent?: RunEventListener;
  /** Restrict planning to these tasks (e.g. those some backend can run); default: the whole vocabulary. */
  availableTasks?: readonly Name[];
  /** The tasks the planner may use (default: the built-in Hugging Face list); see `defineTaskVocabulary`. */
  vocabulary?: TaskVocabulary<Name>;
  /** Few-shot demonstrations; default Jarvis's own for the built-in vocabulary, none for a custom one. */
  demos?: readonly ChatMessage[];
  /** Hears what was cut to fit the controller's context (older history, the middle of a long request). */
  onNotice?: (message: string) => void;
}

export interface PlanOutcome<Name extends string = TaskName> {
  /** The plan to run; empty when no task is needed or when planning failed (`ok: false`). */
  plan: TaskGraph<Name>;
  /** What was still wrong after the repair round; empty when ok. */
  problems: string[];
  ok: boolean;
  /** The LLM's last reply, as text. */
  raw: string;
  /** Token usage of the planning calls (one, or two with a repair round). */
  usage: TokenUsage;
  llmCalls: number;
}

interface Attempt<Name extends string> {
  plan: TaskGraph<Name>;
  problems: string[];
}

/**
 * Reads and checks one reply. Whatever the reply holds, the outcome is problems, never an exception: a
 * reply is the LLM's (or a prompt injection's) text, and a run whose plan cannot be read answers by chat.
 */
function evaluate<Name extends string>(
  text: string,
  options: Pick<PlanOptions<Name>, 'availableTasks' | 'vocabulary'>,
): Attempt<Name> {
  try {
    const { tasks } = parsePlanText(text);
    return validatePlan<Name>(tasks, {
      ...(options.availableTasks ? { availableTasks: options.availableTasks } : {}),
      ...(options.vocabulary ? { vocabulary: options.vocabulary } : {}),
    });
  } catch (error) {
    if (error instanceof PlanError) return { plan: [], problems: error.problems };
    return { plan: [], problems: [`The plan could not be read: ${errorMessage(error)}`] };
  }
}

/**
 * Run events type plans with the built-in names (the CLI and server show them); a custom vocabulary's plan
 * is the same shape with other names, shown as they are.
 */
function asEventPlan<Name extends string>(plan: TaskGraph<Name>): TaskGraph {
  return plan as unknown as TaskGraph;
}

/**
 * Stage 1: asks the controller for a task graph, parses and validates it, and on problems gives the LLM one
 * chance to repair its reply. A plan still invalid after that is not run: the outcome is `ok: false` with
 * an empty plan, and the run answers by plain chat, as HuggingGPT does. LLM failures are thrown.
 */
export async function planTasks<Name extends string = TaskName>(
  options: PlanOptions<Name>,
): Promise<PlanOutcome<Name>> {
  const emit = options.onEvent ?? (() => {});
  emit({ type: 'plan-start', at: Date.now() });
  const messages = buildPlanMessages({
    request: options.request,
    history: options.history ?? [],
    contextTokens: options.controller.contextTokens,
    ...(options.maxHistoryMessages === undefined ? {} : { maxHistoryMessages: options.maxHistoryMessages }),
    ...(options.availableTasks ? { availableTasks: options.availableTasks } : {}),
    ...(options.vocabulary ? { vocabulary: options.vocabulary } : {}),
    ...(options.demos ? { demos: options.demos } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  const jsonSchema = planJsonSchemaFor();
  // The embedded model writes under grammars that encode the validator's rules (no prompt cost).
  const grammarSteps = planGrammarSteps(options.availableTasks, options.vocabulary);
  const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  /** One reply and what is wrong with it; a reply too large to read is a problem of the reply, not a failure. */
  const ask = async (conversation: ChatMessage[]): Promise<[string, Attempt<Name>]> => {
    try {
      const result = await options.controller.chat({
        stage: 'plan',
        messages: conversation,
        jsonSchema,
        grammarSteps,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      usage.inputTokens += result.usage.inputTokens;
      usage.outputTokens += result.usage.outputTokens;
      return [result.text, evaluate(result.text, options)];
    } catch (error) {
      if (!(error instanceof LlmReplyTooLargeError)) throw error;
      return ['', { plan: [], problems: [error.message] }];
    }
  };

  const [first, firstAttempt] = await ask(messages);
  let attempt = firstAttempt;
  if (attempt.problems.length === 0) {
    emit({ type: 'plan-done', plan: asEventPlan(attempt.plan), source: 'llm', at: Date.now() });
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
    emit({ type: 'plan-done', plan: asEventPlan(attempt.plan), source: 'llm', at: Date.now() });
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
