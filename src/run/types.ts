import type { RunEventListener } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { ChatMessage } from '../core/llm.js';

export interface RunOptions {
  /** The user's request, as typed. */
  request: string;
  /** Earlier turns of the conversation (assistant turns name the files they produced). */
  history?: ChatMessage[];
  /** Execute this task graph instead of planning (stage 1 skipped). */
  plan?: TaskGraph;
  /** Override the configured selection strategy. */
  select?: 'llm' | 'top';
  /** false: skip stage 4, `answer` is null. */
  answer?: boolean;
  /** Files the user named or uploaded, allowed as inputs besides the working directory. */
  inputFiles?: string[];
  /**
   * Folders whose files a plan may use besides the working directory (default: the folders of earlier runs,
   * `<dataDir>/runs`, so that a later turn can use what an earlier one made).
   */
  allowedDirs?: string[];
  /** Input paths in the plan resolve against this folder (default: process.cwd()). */
  cwd?: string;
  runId?: string;
  signal?: AbortSignal;
  onEvent?: RunEventListener;
}
