import type { UsageReport } from '../core/events.js';
import type { ControllerModel } from '../core/llm.js';

/** Counts LLM calls and tokens per stage for one run, by wrapping the shared controller. */
export function createUsageMeter() {
  const report: UsageReport = { llmCalls: 0, inputTokens: 0, outputTokens: 0, byStage: {} };
  return {
    wrap(controller: ControllerModel): ControllerModel {
      return {
        id: controller.id,
        contextTokens: controller.contextTokens,
        async chat(request) {
          const result = await controller.chat(request);
          const stage = report.byStage[request.stage] ?? { calls: 0, inputTokens: 0, outputTokens: 0 };
          report.byStage[request.stage] = stage;
          stage.calls += 1;
          stage.inputTokens += result.usage.inputTokens;
          stage.outputTokens += result.usage.outputTokens;
          report.llmCalls += 1;
          report.inputTokens += result.usage.inputTokens;
          report.outputTokens += result.usage.outputTokens;
          return result;
        },
      };
    },
    report: (): UsageReport => structuredClone(report),
  };
}
