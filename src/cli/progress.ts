import { relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { createLogUpdate } from 'log-update';
import pc from 'picocolors';
import type { RunEvent } from '../core/events.js';
import { applyRunEvent, emptyRunState, type RunState, type TaskState } from '../core/run-state.js';

type TaskLine = TaskState;

/** What the progress view knows about a run: the one reducer of run events (src/core/run-state.ts). */
export type ProgressState = RunState;

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;

function statusLabel(line: TaskLine, now: number, frame: number): string {
  switch (line.status) {
    case 'waiting':
      return pc.dim('waiting');
    case 'running':
      return pc.cyan(
        `${SPINNER[frame % SPINNER.length]} running ${line.startedAt ? seconds(now - line.startedAt) : ''}`,
      );
    case 'succeeded':
      return pc.green(`✓ done ${line.result?.durationMs != null ? seconds(line.result.durationMs) : ''}`);
    case 'failed':
      return pc.red(`✗ failed ${line.result?.durationMs != null ? seconds(line.result.durationMs) : ''}`);
    case 'skipped':
      return pc.yellow('↷ skipped');
  }
}

function describeArgs(task: Pick<TaskState, 'args'>): string {
  return Object.entries(task.args)
    .map(([key, value]) => `${key}=${value.length > 40 ? `${value.slice(0, 39)}…` : value}`)
    .join(' ');
}

/** One line per detail of a finished task: its text, its files, or its error. */
function outcomeLines(line: TaskLine, cwd: string): string[] {
  const result = line.result;
  if (!result) return line.progress ? [pc.dim(`      ${line.progress}`)] : [];
  if (result.status !== 'succeeded') return [pc.dim(`      ${result.error.message}`)];
  const lines: string[] = [];
  const text = result.output.text?.replace(/\s+/g, ' ').trim();
  if (text) lines.push(pc.dim(`      → ${text.length > 100 ? `${text.slice(0, 99)}…` : text}`));
  if (result.output.how) lines.push(pc.dim(`        (${result.output.how})`));
  for (const artifact of result.output.artifacts ?? []) {
    lines.push(pc.dim(`      → ${relative(cwd, artifact.path) || artifact.path}`));
  }
  return lines;
}

/** The task table the terminal shows while a run goes on. */
export function renderProgress(state: ProgressState, cwd: string, now = Date.now(), frame = 0): string {
  const out: string[] = [];
  if (state.tasks.size === 0) {
    if (state.stage === 'starting' || state.stage === 'planning')
      out.push(pc.cyan(`${SPINNER[frame % SPINNER.length]} planning…`));
  } else {
    out.push(
      pc.bold(
        `Plan (${state.tasks.size} task${state.tasks.size === 1 ? '' : 's'}${state.planSource === 'given' ? ', given' : ''}):`,
      ),
    );
    for (const line of state.tasks.values()) {
      const deps = line.dep.filter((id) => id >= 0);
      const model = line.model ? `${line.backend}:${line.model}` : pc.dim('choosing model…');
      out.push(
        `  [${line.id}] ${pc.bold(line.task)} ${pc.dim(describeArgs(line))}${deps.length ? pc.dim(` ← ${deps.join(',')}`) : ''}`,
      );
      out.push(`      ${model}  ${statusLabel(line, now, frame)}`);
      if (line.reason) out.push(pc.dim(`      why: ${line.reason}`));
      out.push(...outcomeLines(line, cwd));
    }
  }
  if (state.planError !== null) out.push(pc.red(`! planning failed: ${state.planError}`));
  for (const error of state.errors) out.push(pc.red(`! ${error.stage}: ${error.message}`));
  return out.join('\n');
}

export interface ProgressView {
  onEvent(event: RunEvent): void;
  /** A one-time notice ("the Hub is unreachable"), printed above the live table instead of through it. */
  notice(message: string): void;
  /** Stops redrawing; the answer (if streamed) stays on screen. */
  stop(): void;
}

/**
 * The live view: on a terminal the task table redraws in place and the answer streams below it; elsewhere
 * (pipes, CI logs) each event prints one line as it happens.
 */
export function createProgressView(stream: NodeJS.WriteStream, cwd: string): ProgressView {
  const state = emptyRunState();
  const interactive = Boolean(stream.isTTY);
  let answering = false;

  if (interactive) {
    const draw = createLogUpdate(stream, { showCursor: true });
    let frame = 0;
    const timer = setInterval(() => {
      if (!answering) draw(renderProgress(state, cwd, Date.now(), ++frame));
    }, 100);
    timer.unref();
    return {
      onEvent(event) {
        applyRunEvent(state, event);
        if (event.type === 'response-start') {
          draw(renderProgress(state, cwd, Date.now(), frame));
          draw.done();
          answering = true;
          stream.write('\n');
        } else if (event.type === 'response-delta') {
          stream.write(event.text);
        } else if (event.type === 'response-done' || event.type === 'run-end') {
          if (!answering) {
            draw(renderProgress(state, cwd, Date.now(), frame));
            draw.done();
            answering = true;
          } else if (event.type === 'response-done') {
            stream.write('\n');
          }
        } else if (!answering) {
          draw(renderProgress(state, cwd, Date.now(), frame));
        }
      },
      notice(message) {
        if (answering) {
          stream.write(`\njarvis: ${message}\n`);
          return;
        }
        draw.clear();
        stream.write(`jarvis: ${message}\n`);
        draw(renderProgress(state, cwd, Date.now(), frame));
      },
      stop() {
        clearInterval(timer);
        if (!answering) {
          draw(renderProgress(state, cwd, Date.now(), frame));
          draw.done();
        }
      },
    };
  }

  const line = (text: string) => stream.write(`${text}\n`);
  return {
    onEvent(event) {
      applyRunEvent(state, event);
      switch (event.type) {
        case 'plan-repair':
          line(`plan: repairing (${event.problems.join('; ')})`);
          break;
        case 'plan-done':
          line(`plan: ${event.plan.length} task(s)${event.source === 'given' ? ' (given)' : ''}`);
          for (const task of event.plan) {
            line(`  [${task.id}] ${task.task} ${describeArgs(task)} dep=${JSON.stringify(task.dep)}`);
          }
          break;
        case 'plan-error':
          line(`plan: failed: ${event.message}`);
          break;
        case 'select-done':
          line(
            `select: [${event.choice.taskId}] ${event.choice.backend}:${event.choice.modelId} (${event.choice.reason})`,
          );
          break;
        case 'task-start':
          line(`task: [${event.taskId}] ${event.task} running on ${event.backend}:${event.model}`);
          break;
        case 'task-progress':
          line(`task: [${event.taskId}] ${event.message}`);
          break;
        case 'task-end': {
          const result = event.result;
          const took = result.durationMs == null ? '' : ` in ${seconds(result.durationMs)}`;
          line(`task: [${result.id}] ${result.task} ${result.status}${took}`);
          for (const detail of outcomeLines({ ...(state.tasks.get(result.id) as TaskLine), result }, cwd)) {
            line(stripVTControlCharacters(detail));
          }
          break;
        }
        case 'response-start':
          line('');
          answering = true;
          break;
        case 'response-delta':
          stream.write(event.text);
          break;
        case 'response-done':
          line('');
          break;
        case 'run-error':
          line(`error: ${event.stage}: ${event.message}`);
          break;
        default:
          break;
      }
    },
    notice(message) {
      // Not on a terminal, nothing redraws: notices stay on stderr, apart from the output.
      process.stderr.write(`jarvis: ${message}\n`);
    },
    stop() {},
  };
}
