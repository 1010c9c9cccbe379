/**
 * Where a CPU profile's time went (`node --cpu-prof`, e.g. of the server under `npm run bench:server -- --cpu-prof
 * DIR`): self time summed by area (our source folders, each npm package, Node's internals, garbage collection,
 * idle), the same time charged to the nearest caller outside Node's internals ("by caller": the `writev` a
 * response costs is charged to whoever wrote it), and the functions with the most self time.
 *
 *   node --import tsx bench/support/cpu-profile-summary.ts FILE.cpuprofile [--top 25] [--turns N]
 *     [--windows FILE.json]
 *
 * With `--turns N` the figures are also given per turn (the profile's non-idle time over N turns).
 * `--windows` names the `windows.json` the load bench writes beside the profile: the spans (CLOCK_MONOTONIC µs,
 * the profile's own clock) in which turns were measured and how many turns each held. Only samples inside
 * them count, so start-up, warm-up and shutdown are left out, and the turns are those of the windows.
 */
import { readFileSync } from 'node:fs';
import { formatTable } from '../table.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}
/** A measured span of the load bench. */
export interface ProfileWindow {
  startUs: number;
  endUs: number;
  turns: number;
}

const file = process.argv[2];
if (!file) {
  throw new Error(
    'usage: cpu-profile-summary.ts FILE.cpuprofile [--top N] [--turns N] [--windows FILE.json]',
  );
}
const option = (name: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const top = Number(option('top') ?? 25);
const windowsFile = option('windows');
const windows = windowsFile ? (JSON.parse(readFileSync(windowsFile, 'utf8')) as ProfileWindow[]) : undefined;
const turns = windows
  ? windows.reduce((sum, window) => sum + window.turns, 0)
  : option('turns')
    ? Number(option('turns'))
    : undefined;

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

const inWindow = (at: number) =>
  !windows || windows.some((window) => at >= window.startUs && at <= window.endUs);
/**
 * The sampling interval (the median gap between samples). A longer gap means that the thread was not running
 * when the sampler fired: blocked in a system call (a disk sync) or waiting for a core on a busy machine. Such
 * a gap counts one interval as the sample's self time and the rest as a stall of that sample's function, so
 * that stalls do not pass for CPU time.
 */
const interval =
  [...profile.timeDeltas].sort((a, b) => a - b)[Math.floor(profile.timeDeltas.length / 2)] ?? 0;
const selfUs = new Map<number, number>();
const stallUs = new Map<number, number>();
let at = profile.startTime;
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index] ?? 0;
  at += delta;
  if (!inWindow(at)) return;
  const running = Math.min(delta, 2 * interval);
  selfUs.set(id, (selfUs.get(id) ?? 0) + running);
  if (delta > running) stallUs.set(id, (stallUs.get(id) ?? 0) + delta - running);
});

/** The area a frame belongs to: `src/<folder>`, an npm package, node internals, or V8's own entries. */
function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) {
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(program)') return '(program)';
    return `(native) ${functionName || 'anonymous'}`.slice(0, 60);
  }
  const nodeModules = url.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) {
    const parts = url.slice(nodeModules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const ours = /\/(?:dist|src)\/([^/]+)\//.exec(url);
  if (ours) return `jarvis ${ours[1]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.split('/').slice(-2).join('/');
}

/** Node's own code and V8's native entries: charged to their caller in the "by caller" table. */
const isInternal = (area: string) => area.startsWith('node:') || area.startsWith('(native)');

/**
 * The area of the nearest caller outside Node's internals, with the internal frame nearest to it (what of
 * Node's that caller used: `writev`, `fetch`, `setTimeout`); a frame with no such caller (the event loop's
 * own callbacks) is charged to itself.
 */
function callerOf(id: number): string {
  let node = byId.get(id)!;
  const own = areaOf(node);
  if (!isInternal(own)) return own;
  let used = node;
  for (;;) {
    const parentId = parentOf.get(node.id);
    const parent = parentId === undefined ? undefined : byId.get(parentId);
    if (!parent || parent.callFrame.functionName === '(root)') {
      return `${own} (no caller: ${used.callFrame.functionName || 'anonymous'})`.slice(0, 80);
    }
    const area = areaOf(parent);
    if (!isInternal(area)) {
      return `${area} via ${used.callFrame.functionName || 'anonymous'} ${used.callFrame.url.split('/').at(-1) ?? ''}`
        .trim()
        .slice(0, 80);
    }
    used = parent;
    node = parent;
  }
}

const areas = new Map<string, number>();
const callers = new Map<string, number>();
const callerAreas = new Map<string, number>();
const functions = new Map<string, number>();
let total = 0;
let idle = 0;
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const area = areaOf(node);
  if (area === '(idle)') idle += us;
  total += us;
  add(areas, area, us);
  const caller = callerOf(id);
  add(callers, caller, us);
  add(callerAreas, caller.split(' via ')[0]!.split(' (no caller')[0]!, us);
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'} ${url ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : ''}`;
  add(functions, name, us);
}
const busy = total - idle;
const stalls = new Map<string, number>();
let stalled = 0;
for (const [id, us] of stallUs) {
  const { functionName, url } = byId.get(id)!.callFrame;
  stalled += us;
  add(stalls, `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}`.trim(), us);
}
const show = (us: number) => [
  (us / 1000).toFixed(0),
  `${((us / busy) * 100).toFixed(1)}%`,
  ...(turns ? [(us / 1000 / turns).toFixed(2)] : []),
];
const header = ['ms', '% of busy', ...(turns ? ['ms/turn'] : [])];
console.log(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled${windows ? ` in ${windows.length} measured window(s)` : ''}, ${(busy / 1e6).toFixed(1)} s busy${turns ? ` (${(busy / 1000 / turns).toFixed(2)} ms per turn over ${turns} turns)` : ''}; ` +
    `${(stalled / 1e6).toFixed(1)} s more in stalls (gaps over ${((2 * interval) / 1000).toFixed(1)} ms between samples: blocked, or waiting for a core)`,
);
const sorted = (map: Map<string, number>) =>
  [...map].filter(([name]) => name !== '(idle)').sort((a, b) => b[1] - a[1]);
const table = (title: string, map: Map<string, number>) => {
  console.log();
  console.log(
    formatTable(
      [title, ...header],
      sorted(map)
        .slice(0, top)
        .map(([name, us]) => [name.slice(0, 90), ...show(us)]),
    ),
  );
};
table('area (self time)', areas);
table('area (Node internals charged to their caller)', callerAreas);
table('caller via Node internal', callers);
table('function', functions);
table('stalled in (off-CPU time)', stalls);
