import { AsyncLocalStorage } from 'node:async_hooks';
import type { UsageReport } from '../core/events.js';
import type { ControllerModel } from '../core/llm.js';

/** Counts LLM calls and tokens per stage for one run. */
export class UsageMeter {
  private readonly usage: UsageReport = { llmCalls: 0, inputTokens: 0, outputTokens: 0, byStage: {} };

  record(stage: string, inputTokens: number, outputTokens: number): void {
    const entry = this.usage.byStage[stage] ?? { calls: 0, inputTokens: 0, outputTokens: 0 };
    this.usage.byStage[stage] = entry;
    entry.calls += 1;
    entry.inputTokens += inputTokens;
    entry.outputTokens += outputTokens;
    this.usage.llmCalls += 1;
    this.usage.inputTokens += inputTokens;
    this.usage.outputTokens += outputTokens;
  }

  report(): UsageReport {
    return structuredClone(this.usage);
  }
}

/** The meter of the run whose code is executing: runs may overlap (the server), each counts its own calls. */
const currentRun = new AsyncLocalStorage<UsageMeter>();

/** Runs `work` with every metered LLM call inside it, however deep (stages, backends), counted on `meter`. */
export function withUsageMeter<T>(meter: UsageMeter, work: () => Promise<T>): Promise<T> {
  return currentRun.run(meter, work);
}

/**
 * The shared controller, counting each call on the meter of the run that made it. The `llm` backend and
 * document question answering get this one too, so their calls show in the run's usage.
 */
export function meteredController(controller: ControllerModel): ControllerModel {
  return {
    // Read through: an embedded controller learns its model's context only once the model is downloaded.
    get id() {
      return controller.id;
    },
    get contextTokens() {
      return controller.contextTokens;
    },
    async chat(request) {
      const result = await controller.chat(request);
      currentRun.getStore()?.record(request.stage, result.usage.inputTokens, result.usage.outputTokens);
      return result;
    },
  };
}
