/**
 * Where a CPU profile's time went (`node --cpu-prof`, e.g. of the server under `npm run bench:server -- --cpu-prof
 * DIR`): self time summed by area (our source folders, each npm package, Node's internals, garbage collection,
 * idle) and the functions with the most self time.
 *
 *   node --import tsx bench/support/cpu-profile-summary.ts FILE.cpuprofile [--top 25] [--turns N]
 *
 * With `--turns N` the figures are also given per turn (the profile's non-idle time over N turns).
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

const file = process.argv[2];
if (!file) throw new Error('usage: cpu-profile-summary.ts FILE.cpuprofile [--top N] [--turns N]');
const option = (name: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : undefined;
};
const top = option('top') ?? 25;
const turns = option('turns');

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, index) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
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

const areas = new Map<string, number>();
const functions = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const area = areaOf(node);
  if (area === '(idle)') idle += us;
  total += us;
  areas.set(area, (areas.get(area) ?? 0) + us);
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'} ${url ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : ''}`;
  functions.set(name, (functions.get(name) ?? 0) + us);
}
const busy = total - idle;
const show = (us: number) => [
  (us / 1000).toFixed(0),
  `${((us / busy) * 100).toFixed(1)}%`,
  ...(turns ? [(us / 1000 / turns).toFixed(2)] : []),
];
const header = ['ms', '% of busy', ...(turns ? ['ms/turn'] : [])];
console.log(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy${turns ? ` (${(busy / 1000 / turns).toFixed(2)} ms per turn over ${turns} turns)` : ''}`,
);
const sorted = (map: Map<string, number>) =>
  [...map].filter(([name]) => name !== '(idle)').sort((a, b) => b[1] - a[1]);
console.log();
console.log(
  formatTable(
    ['area', ...header],
    sorted(areas)
      .slice(0, top)
      .map(([name, us]) => [name, ...show(us)]),
  ),
);
console.log();
console.log(
  formatTable(
    ['function', ...header],
    sorted(functions)
      .slice(0, top)
      .map(([name, us]) => [name.slice(0, 90), ...show(us)]),
  ),
);
