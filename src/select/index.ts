import type { Catalog } from '../catalog/index.js';
import { type ModelCard, modelKey } from '../core/backend.js';
import { cutMiddle } from '../core/context-fit.js';
import { errorMessage } from '../core/errors.js';
import type { ModelChoice, RunEventListener } from '../core/events.js';
import type { PlannedTask, TaskGraph } from '../core/graph.js';
import { firstJsonValue } from '../core/lenient-json.js';
import type { ChatMessage, ControllerModel } from '../core/llm.js';
import { isRecord } from '../core/records.js';

export interface SelectOptions {
  plan: TaskGraph;
  request: string;
  catalog: Catalog;
  /** `llm`: the controller picks among candidates; `top`: the top-ranked candidate. */
  strategy: 'llm' | 'top';
  topK: number;
  /** Candidate descriptions are cut to this many characters in the prompt. */
  descriptionChars: number;
  controller?: ControllerModel;
  signal?: AbortSignal;
  onEvent?: RunEventListener;
}

export interface SelectOutcome {
  /** The chosen model per task id. */
  choices: Map<number, ModelChoice>;
  /** Tasks no model can run, with the reason (the task fails with it). */
  unavailable: Map<number, string>;
}

const SYSTEM_PROMPT = `#2 Model Selection Stage: for each task, choose the most suitable model among the candidates of its task type, by its exact key.
Weigh the request, the task, the descriptions, local models and popularity.
Reply with JSON only: {"choices": [{"task_id": ID, "model": "KEY", "reason": "one short sentence"}]}, one entry per task.`;

const MAX_REQUEST_CHARS = 2_000;

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function describeCandidate(card: ModelCard, descriptionChars: number): string {
  const traits = [
    ...(card.local ? ['local'] : []),
    ...(card.downloads === undefined ? [] : [`${card.downloads} downloads`]),
  ];
  const description = truncate(card.description, descriptionChars);
  return `- ${modelKey(card)}${traits.length > 0 ? ` (${traits.join(', ')})` : ''}${description ? `: ${description}` : ''}`;
}

/**
 * The selection messages, compact: one line per task, then each distinct candidate list once, under the
 * tasks it serves (three detection tasks share one list instead of repeating it three times).
 */
export function selectionPrompt(
  request: string,
  tasks: { task: PlannedTask; candidates: ModelCard[] }[],
  descriptionChars: number,
): ChatMessage[] {
  // The request is context for choosing models, not the task itself: a long one is cut (the plan stage
  // has already told the user when it had to cut it).
  const lines = [`User request: ${cutMiddle(request, MAX_REQUEST_CHARS)}`, '', 'Tasks:'];
  for (const { task } of tasks) lines.push(`${task.id} ${task.task} ${JSON.stringify(task.args)}`);
  const lists = new Map<string, { type: string; ids: number[]; candidates: ModelCard[] }>();
  for (const { task, candidates } of tasks) {
    const key = `${task.task}\n${candidates.map(modelKey).join('\n')}`;
    const list = lists.get(key);
    if (list) list.ids.push(task.id);
    else lists.set(key, { type: task.task, ids: [task.id], candidates });
  }
  const perType = new Map<string, number>();
  for (const { type } of lists.values()) perType.set(type, (perType.get(type) ?? 0) + 1);
  for (const { type, ids, candidates } of lists.values()) {
    // A type with one list names its type only; otherwise each list says which tasks it is for.
    const whose = perType.get(type) === 1 ? type : `${type}, tasks ${ids.join(', ')}`;
    lines.push(
      '',
      `Candidates for ${whose}:`,
      ...candidates.map((card) => describeCandidate(card, descriptionChars)),
    );
  }
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: lines.join('\n') },
  ];
}

/** The JSON schema of the selection reply; ids and models are enums and reasons bounded, so any grammar ends. */
export function selectionJsonSchema(taskIds: number[], modelKeys: string[]): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      choices: {
        type: 'array',
        maxItems: taskIds.length,
        items: {
          type: 'object',
          properties: {
            task_id: { type: 'integer', enum: taskIds },
            model: { type: 'string', enum: modelKeys },
            reason: { type: 'string', maxLength: 200 },
          },
          required: ['task_id', 'model', 'reason'],
          additionalProperties: false,
        },
      },
    },
    required: ['choices'],
    additionalProperties: false,
  };
}

interface LlmPick {
  model: string;
  reason: string;
}

/** A selection reply: `{"choices": [...]}`, a bare list of choices, or one choice. */
const holdsChoices = (value: unknown): boolean =>
  Array.isArray(value) ? value.some(isRecord) : isRecord(value);

function readPicks(text: string): Map<number, LlmPick> {
  const picks = new Map<number, LlmPick>();
  const parsed = firstJsonValue(text, holdsChoices);
  const list = Array.isArray(parsed)
    ? parsed
    : isRecord(parsed)
      ? Array.isArray(parsed.choices)
        ? parsed.choices
        : [parsed]
      : [];
  for (const record of list) {
    if (!isRecord(record)) continue;
    const id = Number(record.task_id ?? record.id ?? record.taskId);
    const model = record.model ?? record.id_model ?? record.model_id;
    if (!Number.isInteger(id) || typeof model !== 'string') continue;
    picks.set(id, { model, reason: typeof record.reason === 'string' ? record.reason : '' });
  }
  return picks;
}

function unavailableReason(task: PlannedTask, all: ModelCard[]): string {
  if (all.length === 0) return `No model in the catalog can run ${task.task}.`;
  const reasons = [...new Set(all.map((card) => `${modelKey(card)}: ${card.reason ?? 'unavailable'}`))];
  return `No runnable model for ${task.task}. ${reasons.slice(0, 3).join('; ')}`;
}

/**
 * Stage 2: picks a model for every task. One candidate: no LLM call. Otherwise one LLM call for the
 * whole plan (HuggingGPT spends one per task); a pick outside the candidates falls back to the top one.
 */
export async function selectModels(options: SelectOptions): Promise<SelectOutcome> {
  const { plan, catalog, topK, onEvent } = options;
  const choices = new Map<number, ModelChoice>();
  const unavailable = new Map<number, string>();
  onEvent?.({ type: 'select-start', taskIds: plan.map((task) => task.id), at: Date.now() });

  const perTask = await Promise.all(
    plan.map(async (task) => {
      // HuggingGPT asks each candidate's endpoint whether it runs; the best-ranked ones are checked, in parallel.
      const all = await catalog.list(task.task, {
        checkAvailability: Math.max(topK * 2, topK + 3),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const runnable = all.filter((card) => card.available);
      return { task, all, candidates: runnable.slice(0, topK) };
    }),
  );

  const choose = (task: PlannedTask, card: ModelCard, reason: string, candidates: ModelCard[]) => {
    const choice: ModelChoice = {
      taskId: task.id,
      modelId: card.id,
      backend: card.backend,
      reason,
      candidates: candidates.map(modelKey),
    };
    choices.set(task.id, choice);
    onEvent?.({ type: 'select-done', choice, at: Date.now() });
  };

  const needLlm = perTask.filter(({ candidates }) => candidates.length > 1);
  let picks = new Map<number, LlmPick>();
  let llmProblem: string | undefined;
  if (options.strategy === 'llm' && needLlm.length > 0 && options.controller) {
    const keys = [...new Set(needLlm.flatMap(({ candidates }) => candidates.map(modelKey)))];
    try {
      const reply = await options.controller.chat({
        stage: 'select',
        messages: selectionPrompt(options.request, needLlm, options.descriptionChars),
        jsonSchema: {
          name: 'model_selection',
          schema: selectionJsonSchema(
            needLlm.map(({ task }) => task.id),
            keys,
          ),
        },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      picks = readPicks(reply.text);
      if (picks.size === 0) llmProblem = 'the LLM reply named no model';
    } catch (error) {
      if (options.signal?.aborted) throw error;
      llmProblem = `the selection call failed (${errorMessage(error)})`;
    }
  }

  for (const { task, all, candidates } of perTask) {
    const top = candidates[0];
    if (!top) {
      unavailable.set(task.id, unavailableReason(task, all));
      continue;
    }
    if (candidates.length === 1) {
      choose(task, top, 'The only runnable candidate.', candidates);
      continue;
    }
    if (options.strategy === 'top' || !options.controller) {
      choose(task, top, 'Top-ranked candidate (runnable, local first, most downloads).', candidates);
      continue;
    }
    const pick = picks.get(task.id);
    const picked = pick && candidates.find((card) => modelKey(card) === pick.model || card.id === pick.model);
    if (picked && pick) {
      choose(task, picked, pick.reason || 'Chosen by the LLM.', candidates);
    } else if (pick) {
      choose(
        task,
        top,
        `The LLM chose "${pick.model}", which is not a candidate; using the top-ranked one.`,
        candidates,
      );
    } else {
      choose(
        task,
        top,
        `Top-ranked candidate: ${llmProblem ?? 'the LLM made no choice for this task'}.`,
        candidates,
      );
    }
  }
  return { choices, unavailable };
}
