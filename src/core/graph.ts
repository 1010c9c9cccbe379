import type { ResourceKind, TaskName } from './tasks.js';

/** `<GENERATED>-k`: "the resource of the argument's kind that task k produced". */
export const GENERATED_PATTERN = /^<GENERATED>-(\d+)$/;

export function generatedRef(taskId: number): string {
  return `<GENERATED>-${taskId}`;
}

/** The task id an argument refers to, or undefined when the argument is a literal value. */
export function referencedTask(value: string): number | undefined {
  const match = GENERATED_PATTERN.exec(value);
  return match ? Number(match[1]) : undefined;
}

export type TaskArgs = Partial<Record<ResourceKind, string>>;

/**
 * One node of a plan, in HuggingGPT's own shape. `dep: [-1]` means "no dependency". `Name` is the task
 * vocabulary's names: the built-in Hugging Face tasks unless a custom vocabulary planned it.
 */
export interface PlannedTask<Name extends string = TaskName> {
  id: number;
  task: Name;
  dep: number[];
  args: TaskArgs;
}

export type TaskGraph<Name extends string = TaskName> = PlannedTask<Name>[];

/** The ids a task depends on, without HuggingGPT's `-1` placeholder. */
export function dependencies(task: PlannedTask<string>): number[] {
  return task.dep.filter((id) => id >= 0);
}
