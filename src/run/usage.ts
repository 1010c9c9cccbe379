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

/**
 * The controller as one run sees it: each call is counted on the run's meter. A run hands this one to its
 * stages and, with each inference request, to the experts that call the controller themselves (the `llm`
 * backend, document question answering), so their calls show in the run's usage too. (Passed explicitly
 * rather than found through AsyncLocalStorage: on Node 20 that hooks every promise the server makes.)
 */
export function meteredController(controller: ControllerModel, meter: UsageMeter): ControllerModel {
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
      meter.record(request.stage, result.usage.inputTokens, result.usage.outputTokens);
      return result;
    },
  };
}
