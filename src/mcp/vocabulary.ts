import type { InferenceBackend } from '../core/backend.js';
import type { ChatMessage } from '../core/llm.js';
import {
  defineTaskVocabulary,
  HUGGING_FACE_TASKS,
  type TaskDefinition,
  type TaskName,
  type TaskVocabulary,
} from '../core/tasks.js';
import { PLAN_DEMOS } from '../plan/index.js';

/** A backend whose models bring their own tasks (the MCP backend: one task per server tool). */
interface DefinesTasks {
  taskDefinitions(): Promise<TaskDefinition[]>;
}

function definesTasks(backend: InferenceBackend): backend is InferenceBackend & DefinesTasks {
  return typeof (backend as Partial<DefinesTasks>).taskDefinitions === 'function';
}

const squash = (name: string) => name.toLowerCase().replace(/[\s_-]+/g, '');

/**
 * The planner's tasks when backends bring their own: the built-in list plus theirs, with the built-in demos
 * kept (they name built-in tasks, which are all still there). Undefined when no backend adds a task, so that
 * the planner keeps its built-in vocabulary and lean prompt.
 */
export async function planningVocabulary(
  backends: readonly InferenceBackend[],
): Promise<{ vocabulary: TaskVocabulary<TaskName>; demos: readonly ChatMessage[] } | undefined> {
  const extra = (
    await Promise.all(
      backends.filter(definesTasks).map((backend) => backend.taskDefinitions().catch(() => [])),
    )
  ).flat();
  if (extra.length === 0) return undefined;
  // Names equal but for case, spaces, hyphens and underscores would be one task to the planner: first wins.
  const seen = new Set<string>();
  const definitions: TaskDefinition[] = [];
  for (const definition of [...HUGGING_FACE_TASKS.tasks, ...extra]) {
    const key = squash(definition.name);
    if (seen.has(key)) continue;
    seen.add(key);
    definitions.push(definition);
  }
  // Plans typed with the built-in names are the same shape with other names; events show them as they are.
  const vocabulary = defineTaskVocabulary(definitions) as unknown as TaskVocabulary<TaskName>;
  return { vocabulary, demos: PLAN_DEMOS };
}
