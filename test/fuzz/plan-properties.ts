/**
 * What "valid" means for a plan the reader accepted, as properties checked on every accepted plan. They are
 * stated on the output alone, so they hold whatever the input was: a plan that breaks one is an invalid plan
 * the reader let through.
 */
import { MAX_REPLY_CHARS, MAX_TASKS } from '../../src/core/plan-limits.js';
import { RESOURCE_KINDS, TASK_NAMES, taskSignature } from '../../src/core/tasks.js';

const VOCABULARY = new Set<string>(TASK_NAMES);
const KINDS = new Set<string>(RESOURCE_KINDS);

/** The properties a plan breaks; empty for a valid plan. */
export function planViolations(plan: unknown, source?: { replyChars?: number }): string[] {
  const violations: string[] = [];
  if (!Array.isArray(plan)) return ['the plan is not a list'];
  if (plan.length > MAX_TASKS) violations.push(`size: ${plan.length} tasks, more than ${MAX_TASKS}`);
  if (source?.replyChars !== undefined && source.replyChars > MAX_REPLY_CHARS && plan.length > 0) {
    violations.push(`size: accepted from a reply of ${source.replyChars} characters`);
  }
  const ids = new Set<number>();
  plan.forEach((task: unknown, position) => {
    const where = `task ${position}`;
    if (typeof task !== 'object' || task === null) {
      violations.push(`${where} is not an object`);
      return;
    }
    const { id, task: name, dep, args } = task as Record<string, unknown>;
    // Ids unique, and in list order so that "earlier" is a property of the id alone.
    if (id !== position) violations.push(`ids: ${where} has id ${String(id)}`);
    if (ids.has(id as number)) violations.push(`ids: ${String(id)} is used twice`);
    ids.add(id as number);
    // Task names in the vocabulary, compared as strings: "constructor" is no task.
    if (typeof name !== 'string' || !VOCABULARY.has(name)) {
      violations.push(
        `vocabulary: ${where} runs ${typeof name === 'string' ? JSON.stringify(name) : typeof name}`,
      );
      return;
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      violations.push(`${where} has no argument object`);
      return;
    }
    const signature = taskSignature(name as (typeof TASK_NAMES)[number]);
    const referenced = new Set<number>();
    for (const [kind, value] of Object.entries(args)) {
      if (!KINDS.has(kind)) violations.push(`arguments: ${where} has argument "${kind}"`);
      else if (!signature.inputs.includes(kind as (typeof RESOURCE_KINDS)[number])) {
        violations.push(`arguments: ${where} (${name}) cannot take ${kind}`);
      }
      if (typeof value !== 'string') {
        violations.push(`arguments: ${where}'s ${kind} is not a string`);
        continue;
      }
      // References only to earlier tasks, which also rules out cycles.
      for (const match of value.matchAll(/<GENERATED>-(\d+)/g)) {
        const target = Number(match[1]);
        referenced.add(target);
        if (!(target < position))
          violations.push(`references: ${where} uses task ${target}, not an earlier one`);
      }
      if (kind !== 'text' && /<GENERATED>/.test(value) && !/^<GENERATED>-\d+$/.test(value)) {
        violations.push(`references: ${where}'s ${kind} is not one whole reference`);
      }
    }
    // Required inputs present.
    for (const kind of signature.required) {
      if (!Object.hasOwn(args, kind)) violations.push(`required: ${where} (${name}) has no ${kind}`);
    }
    // `dep` says the same as the references: the scheduler orders tasks by it.
    const deps = Array.isArray(dep) ? dep.filter((value) => value !== -1) : undefined;
    if (!deps) violations.push(`dep: ${where} has no dep list`);
    else {
      for (const target of deps) {
        if (typeof target !== 'number' || !(target < position))
          violations.push(`dep: ${where} depends on ${String(target)}`);
      }
      const same =
        deps.length === referenced.size && deps.every((target) => referenced.has(target as number));
      if (!same)
        violations.push(
          `dep: ${where} has dep ${JSON.stringify(dep)} but uses ${[...referenced].join(', ')}`,
        );
    }
  });
  return violations;
}
