import { relative } from 'node:path';
import type { RunResult } from '../core/events.js';

/**
 * What a finished run leaves in the conversation for later turns: the answer, each task's short result and
 * the files it made, so that "now read that text aloud" can refer to them.
 */
export function historyEntry(result: RunResult, cwd: string): string {
  const parts: string[] = [];
  if (result.answer) parts.push(result.answer);
  const lines: string[] = [];
  for (const task of result.tasks) {
    if (task.status !== 'succeeded') {
      lines.push(`- task ${task.id} ${task.task}: ${task.status} (${task.error.message})`);
      continue;
    }
    const text = task.output.text?.replace(/\s+/g, ' ').trim();
    const files = (task.output.artifacts ?? []).map(
      (artifact) => relative(cwd, artifact.path) || artifact.path,
    );
    lines.push(
      `- task ${task.id} ${task.task}${text ? `: ${text.length > 500 ? `${text.slice(0, 499)}…` : text}` : ''}${
        files.length ? ` [files: ${files.join(', ')}]` : ''
      }`,
    );
  }
  if (lines.length > 0) parts.push(`Results of this turn:\n${lines.join('\n')}`);
  return parts.join('\n\n') || '(no answer)';
}
