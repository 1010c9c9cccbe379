/**
 * What the `jarvis` binary costs before it does anything useful: process CPU time (user + sys) of `--help`,
 * `--version` and a one-task `--plan` run (real NER, no LLM), and the time that run spends importing modules.
 *
 *   npm run build && node --import tsx bench/cli-startup.bench.ts [--repeat 10]
 *
 * CPU time comes from the child itself: a preloaded one-line module prints `process.cpuUsage()` (getrusage of
 * the whole process, Node's own start-up included) when it exits. The import phase of the run is timed by
 * importing, in a fresh process, every ES module the run loaded, in the order it loaded them, except the
 * expert's own libraries (compromise, wink-nlp: loading them is loading the model, the task's own work).
 * Medians; the machine's load average is printed because a busy machine inflates every number.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, option, spread } from './stats.js';
import { formatTable } from './table.js';

const BIN = fileURLToPath(new URL('../bin/jarvis.js', import.meta.url));
const repeat = Math.max(5, Number(option('repeat', '10')));

const folder = mkdtempSync(join(tmpdir(), 'jarvis-startup-'));
const cpuReport = join(folder, 'cpu.mjs');
writeFileSync(
  cpuReport,
  "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\ncpu-ms ' + (u.user + u.system) / 1000 + '\\n'); });\n",
);
const loadTrace = join(folder, 'trace.mjs');
const traceFile = join(folder, 'loaded.txt');
writeFileSync(
  join(folder, 'trace-hooks.mjs'),
  `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(traceFile)}, url + '\\n'); return next(url, context); }\n`,
);
writeFileSync(
  loadTrace,
  "import { register } from 'node:module';\nregister('./trace-hooks.mjs', import.meta.url);\n",
);
writeFileSync(
  join(folder, 'plan.json'),
  JSON.stringify([
    {
      id: 0,
      task: 'token-classification',
      dep: [-1],
      args: { text: 'Ada Lovelace met Charles Babbage in London.' },
    },
  ]),
);
const env = { ...process.env, JARVIS_DATA_DIR: join(folder, 'data'), NO_COLOR: '1' };
const RUN = ['run', '--plan', 'plan.json', '--select', 'top', '--no-answer', '--json'];

/** "median (min-max) ms": the spread says how far one noisy sample can be trusted. */
const summary = (values: number[], unit: string): string =>
  `${median(values).toFixed(0)} ${spread(values, 0)} ms ${unit}`;

function cpuOf(args: string[]): number {
  const child = spawnSync(process.execPath, ['--import', pathToFileURL(cpuReport).href, BIN, ...args], {
    cwd: folder,
    env,
    encoding: 'utf8',
  });
  const match = /cpu-ms ([\d.]+)/.exec(child.stderr);
  if (!match)
    throw new Error(`jarvis ${args.join(' ')}: no CPU report (exit ${child.status}): ${child.stderr}`);
  return Number(match[1]);
}

/** Imports `urls` in order in a fresh process; returns [wall ms, CPU ms]. */
function importTime(urls: string[]): [number, number] {
  const list = join(folder, 'urls.json');
  writeFileSync(list, JSON.stringify(urls));
  const script = `const urls = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(list)}, 'utf8'));
const c = process.cpuUsage(); const t = performance.now();
(async () => { for (const url of urls) { try { await import(url); } catch {} }
const u = process.cpuUsage(c); console.log(performance.now() - t, (u.user + u.system) / 1000); })();`;
  const child = spawnSync(process.execPath, ['-e', script], { cwd: folder, encoding: 'utf8' });
  const [wall, cpu] = child.stdout.trim().split(' ').map(Number);
  return [wall ?? Number.NaN, cpu ?? Number.NaN];
}

spawnSync(process.execPath, ['--import', pathToFileURL(loadTrace).href, BIN, ...RUN], { cwd: folder, env });
const loaded = readFileSync(traceFile, 'utf8')
  .split('\n')
  .filter((url) => url.startsWith('file:') && !url.endsWith('/bin/jarvis.js') && !url.endsWith('.json'));
const isExpertLibrary = (url: string) =>
  /node_modules\/(compromise|wink-nlp|wink-eng-lite-web-model)\//.test(url);
const pipeline = loaded.filter((url) => !isExpertLibrary(url));

const rows: string[][] = [];
for (const [name, args] of [
  ['--help', ['--help']],
  ['--version', ['--version']],
  ['one-task --plan run', RUN],
] as const) {
  const samples = Array.from({ length: repeat }, () => cpuOf([...args]));
  rows.push([name, summary(samples, 'CPU'), '']);
}
const samples = Array.from({ length: repeat }, () => importTime(pipeline));
rows.push([
  `imports of that run (${pipeline.length} ES modules)`,
  summary(
    samples.map(([, cpu]) => cpu),
    'CPU',
  ),
  summary(
    samples.map(([wall]) => wall),
    'wall',
  ),
]);
console.log(formatTable(['', `median (min-max) of ${repeat}`, ''], rows));
console.log(`load average ${loadavg()[0]?.toFixed(2)} on this machine`);
