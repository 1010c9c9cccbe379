/**
 * Runs fuzz cases through the plan-reading path, one at a time, in a worker thread: the main thread can then
 * put a deadline on each case and terminate a worker that hangs instead of hanging with it.
 */
import { parentPort } from 'node:worker_threads';
import { PlanError } from '../../src/core/errors.js';
import { firstJsonValue } from '../../src/core/lenient-json.js';
import type { ControllerModel } from '../../src/core/llm.js';
import { normalizeTaskName, TASK_NAMES } from '../../src/core/tasks.js';
import { closestTask, planFromFile, planTasks, validatePlan } from '../../src/plan/index.js';
import { type FuzzCase, generateCase } from './plan-cases.js';
import { planViolations } from './plan-properties.js';

export interface CaseRequest {
  seed: number;
  index: number;
}

export interface CaseReport {
  index: number;
  family: string;
  kind: FuzzCase['kind'];
  /** Time spent reading the case, without generating it. */
  ms: number;
  outcome: 'accepted' | 'rejected' | 'exception';
  /** The uncaught exception, for `outcome: 'exception'`. */
  error?: string;
  /** Properties an accepted plan breaks. */
  violations: string[];
}

const VOCABULARY = new Set<string>(TASK_NAMES);
const WARM_UP_SEED = 0x5eed;

/** An LLM that gives the same reply to the plan request and to the repair round. */
function replying(text: string): ControllerModel {
  return {
    id: 'fuzz:reply',
    contextTokens: 16_000,
    chat: async () => ({ text, usage: { inputTokens: 0, outputTokens: 0 } }),
  };
}

async function read(fuzzCase: FuzzCase): Promise<Pick<CaseReport, 'outcome' | 'violations'>> {
  switch (fuzzCase.kind) {
    case 'reply': {
      const outcome = await planTasks({ request: 'fuzz', controller: replying(fuzzCase.text) });
      if (!outcome.ok) return { outcome: 'rejected', violations: [] };
      return {
        outcome: 'accepted',
        violations: planViolations(outcome.plan, { replyChars: fuzzCase.text.length }),
      };
    }
    case 'file': {
      try {
        const plan = planFromFile(fuzzCase.json);
        const replyChars = typeof fuzzCase.json === 'string' ? fuzzCase.json.length : undefined;
        return {
          outcome: 'accepted',
          violations: planViolations(plan, { ...(replyChars ? { replyChars } : {}) }),
        };
      } catch (error) {
        if (error instanceof PlanError) return { outcome: 'rejected', violations: [] };
        throw error;
      }
    }
    case 'given': {
      const { plan, problems } = validatePlan(fuzzCase.tasks);
      if (problems.length > 0) return { outcome: 'rejected', violations: [] };
      return { outcome: 'accepted', violations: planViolations(plan) };
    }
    case 'name': {
      const violations: string[] = [];
      const normalized = normalizeTaskName(fuzzCase.name);
      const closest = closestTask(fuzzCase.name);
      for (const [what, value] of [
        ['name', normalized],
        ['did-you-mean', closest],
      ] as const) {
        if (value !== undefined && (typeof value !== 'string' || !VOCABULARY.has(value))) {
          violations.push(
            `vocabulary: ${what} of ${JSON.stringify(fuzzCase.name.slice(0, 40))} is ${typeof value}`,
          );
        }
      }
      return { outcome: normalized ? 'accepted' : 'rejected', violations };
    }
    case 'select': {
      firstJsonValue(fuzzCase.text);
      return { outcome: 'rejected', violations: [] };
    }
  }
}

export async function runCase(request: CaseRequest): Promise<CaseReport> {
  const fuzzCase = generateCase(request.seed, request.index);
  const started = performance.now();
  let result: Pick<CaseReport, 'outcome' | 'violations' | 'error'>;
  try {
    result = await read(fuzzCase);
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    result = { outcome: 'exception', error: text.slice(0, 300), violations: [] };
  }
  const ms = performance.now() - started;
  return { index: request.index, family: fuzzCase.family, kind: fuzzCase.kind, ms, ...result };
}

if (parentPort) {
  const port = parentPort;
  // Warm up on cases of another seed, so that the timed cases measure warm code (as in a running server),
  // not the compiler's first pass over each path of the reader; a few seconds at most.
  const warmUntil = performance.now() + 3_000;
  for (let index = 0; index < 300 && performance.now() < warmUntil; index++) {
    await runCase({ seed: WARM_UP_SEED, index });
  }
  port.on('message', async (request: CaseRequest) => port.postMessage(await runCase(request)));
  port.postMessage('ready');
}
