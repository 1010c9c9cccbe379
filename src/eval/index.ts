export {
  readGoldLines,
  readPredictionLines,
  readTaskBenchTools,
  requestOf,
  runTaskBenchPlanning,
  type TaskBenchResult,
  type TaskBenchRunOptions,
  type TaskBenchRunProgress,
  taskBenchVocabulary,
  toTaskBenchResult,
} from './taskbench.js';
export {
  ALL_N_TOOLS,
  ALL_SPLITS,
  contentType,
  type ScoreOptions,
  scoreTaskBench,
  type TaskBenchGroupMetrics,
  type TaskBenchScores,
  type TaskBenchTool,
  taskBenchGroups,
} from './taskbench-metrics.js';
