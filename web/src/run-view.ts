import { h, svg } from './dom.js';
import type { RunState } from './run-state.js';
import type { Artifact, TaskView } from './types.js';

const NODE_WIDTH = 168;
const NODE_HEIGHT = 52;
const COLUMN_GAP = 56;
const ROW_GAP = 18;

const STATUS_LABEL: Record<TaskView['status'], string> = {
  waiting: 'waiting',
  running: 'running',
  succeeded: 'done',
  failed: 'failed',
  skipped: 'skipped',
};

/** Each task's column: one more than the deepest task it depends on, so edges always run left to right. */
function columns(tasks: TaskView[]): Map<number, number> {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const depth = new Map<number, number>();
  const visit = (task: TaskView, seen: Set<number>): number => {
    const known = depth.get(task.id);
    if (known !== undefined) return known;
    if (seen.has(task.id)) return 0;
    seen.add(task.id);
    let value = 0;
    for (const dep of task.dep) {
      const parent = byId.get(dep);
      if (parent) value = Math.max(value, visit(parent, seen) + 1);
    }
    depth.set(task.id, value);
    return value;
  };
  for (const task of tasks) visit(task, new Set());
  return depth;
}

const shortModel = (model: string | null) => (model ? (model.split('/').at(-1) ?? model) : 'choosing model…');

/** The task graph: tasks as nodes coloured by state, dependencies as edges. */
export function renderGraph(run: RunState): SVGElement | HTMLElement {
  const tasks = [...run.tasks.values()];
  if (tasks.length === 0) return h('div', { class: 'graph-empty' });
  const depth = columns(tasks);
  const rows = new Map<number, number>();
  const position = new Map<number, { x: number; y: number }>();
  for (const task of tasks) {
    const column = depth.get(task.id) ?? 0;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    position.set(task.id, { x: column * (NODE_WIDTH + COLUMN_GAP), y: row * (NODE_HEIGHT + ROW_GAP) });
  }
  const width = (Math.max(...depth.values()) + 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP + 8;
  const height = Math.max(...rows.values()) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP + 8;
  const root = svg('svg', {
    class: 'graph',
    viewBox: `-4 -4 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `Task graph with ${tasks.length} task${tasks.length === 1 ? '' : 's'}`,
  });
  root.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        {
          id: `arrow-${run.id}`,
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto',
        },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'edge-head' }),
      ),
    ),
  );
  for (const task of tasks) {
    const to = position.get(task.id)!;
    for (const dep of task.dep) {
      const from = position.get(dep);
      if (!from) continue;
      const x1 = from.x + NODE_WIDTH;
      const y1 = from.y + NODE_HEIGHT / 2;
      const x2 = to.x - 2;
      const y2 = to.y + NODE_HEIGHT / 2;
      const bend = (x2 - x1) / 2;
      root.append(
        svg('path', {
          class: `edge edge-${task.status}`,
          d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
          'marker-end': `url(#arrow-${run.id})`,
          'data-from': dep,
          'data-to': task.id,
        }),
      );
    }
  }
  for (const task of tasks) {
    const { x, y } = position.get(task.id)!;
    const node = svg(
      'g',
      {
        class: `node node-${task.status}`,
        transform: `translate(${x},${y})`,
        'data-task-id': task.id,
        'data-status': task.status,
      },
      svg('rect', { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 10 }),
      svg('text', { x: 12, y: 21, class: 'node-title' }, `${task.id} · ${task.task}`.slice(0, 24)),
      svg('text', { x: 12, y: 39, class: 'node-model' }, shortModel(task.model).slice(0, 26)),
      svg('circle', { cx: NODE_WIDTH - 14, cy: 14, r: 5, class: 'node-dot' }),
    );
    node.append(
      svg('title', {}, `${task.task}: ${STATUS_LABEL[task.status]}${task.model ? ` (${task.model})` : ''}`),
    );
    root.append(node);
  }
  return root;
}

/** Boxes from a detector's data (`{detections: [{label, score, box: {xmin, ymin, xmax, ymax}}]}` or a list). */
function detectionsOf(data: unknown): { label: string; score?: number; box: Record<string, number> }[] {
  const list = Array.isArray(data) ? data : (data as { detections?: unknown } | null)?.detections;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (item): item is { label: string; score?: number; box: Record<string, number> } =>
      typeof item === 'object' &&
      item !== null &&
      typeof (item as { label?: unknown }).label === 'string' &&
      typeof (item as { box?: unknown }).box === 'object',
  );
}

function renderArtifact(artifact: Artifact): HTMLElement {
  const url = artifact.url ?? '';
  const name = artifact.path.split(/[\\/]/).at(-1) ?? artifact.path;
  const caption = h('figcaption', {}, artifact.label ?? name);
  if (artifact.kind === 'image') {
    return h(
      'figure',
      { class: 'artifact artifact-image' },
      h(
        'a',
        { href: url, target: '_blank', rel: 'noopener' },
        h('img', { src: url, alt: artifact.label ?? name, loading: 'lazy' }),
      ),
      caption,
    );
  }
  if (artifact.kind === 'audio') {
    return h(
      'figure',
      { class: 'artifact artifact-audio' },
      h('audio', { src: url, controls: true, preload: 'metadata' }),
      caption,
    );
  }
  return h(
    'figure',
    { class: 'artifact artifact-video' },
    h('video', { src: url, controls: true, preload: 'metadata' }),
    caption,
  );
}

function renderOutput(task: TaskView): HTMLElement | null {
  const result = task.result;
  if (!result) return null;
  if (result.status !== 'succeeded' || !result.output) {
    return h(
      'p',
      { class: `task-error task-error-${result.status}` },
      result.error?.message ?? result.status,
    );
  }
  const output = result.output;
  const parts: (HTMLElement | null)[] = [];
  if (output.text) parts.push(h('p', { class: 'task-text' }, output.text));
  if (output.how) parts.push(h('p', { class: 'task-how' }, output.how));
  const detections = detectionsOf(output.data);
  if (detections.length > 0) {
    parts.push(
      h(
        'ul',
        { class: 'detections' },
        ...detections
          .slice(0, 30)
          .map((detection) =>
            h(
              'li',
              {},
              detection.label,
              detection.score !== undefined ? h('span', {}, ` ${Math.round(detection.score * 100)}%`) : null,
            ),
          ),
      ),
    );
  }
  for (const artifact of output.artifacts ?? []) parts.push(renderArtifact(artifact));
  if (output.data !== undefined && detections.length === 0 && !output.text) {
    parts.push(h('pre', { class: 'task-data' }, JSON.stringify(output.data, null, 2).slice(0, 2000)));
  }
  return h('div', { class: 'task-output' }, ...parts);
}

export function renderTask(task: TaskView): HTMLElement {
  // Resolved arguments are absolute paths on the server; the file name is what a reader recognises.
  const shown = (value: string) =>
    /^(\/|[A-Za-z]:\\)/.test(value) ? (value.split(/[\\/]/).at(-1) ?? value) : value;
  const args = Object.entries(task.args)
    .map(([name, raw]) => {
      const value = shown(raw);
      return `${name}: ${value.length > 80 ? `${value.slice(0, 79)}…` : value}`;
    })
    .join(' · ');
  return h(
    'article',
    { class: `task task-${task.status}`, 'data-task-id': task.id, 'data-status': task.status },
    h(
      'header',
      {},
      h('span', { class: 'task-id' }, String(task.id)),
      h('strong', {}, task.task),
      h('span', { class: `badge badge-${task.status}` }, STATUS_LABEL[task.status]),
      task.result?.durationMs != null
        ? h('span', { class: 'task-time' }, `${(task.result.durationMs / 1000).toFixed(1)} s`)
        : null,
    ),
    args ? h('p', { class: 'task-args' }, args) : null,
    task.model
      ? h(
          'p',
          { class: 'task-model' },
          h('span', { class: 'label' }, 'model '),
          h('code', {}, task.backend ? `${task.backend}:${task.model}` : task.model),
          task.reason ? h('span', { class: 'task-reason' }, ` — ${task.reason}`) : null,
        )
      : null,
    task.progress ? h('p', { class: 'task-progress' }, task.progress) : null,
    renderOutput(task),
  );
}
