/**
 * Load test of `jarvis serve` as a user runs it: three processes on loopback.
 *
 * - the fake LLM (`bench/support/fake-llm-process.ts`): OpenAI's chat completions protocol, every call answered
 *   after a fixed latency (`--latency`, default 100 ms);
 * - `jarvis serve` from the built `bin/jarvis.js` (run `npm run build` first) with default settings, its own
 *   data folder and home, `JARVIS_OFFLINE=1` and `JARVIS_INFERENCE_MODE=local` (nothing leaves the machine);
 * - this process, the client: N conversations at once, each sending `--turns` turns in a row through
 *   `POST /v1/chat/completions` (alternately not streamed and streamed, resending the history as OpenAI clients
 *   do). Each turn plans one named-entity recognition task, which runs on the local NER expert.
 *
 * Per level (`--levels`, default 1,8,32,100) it repeats `--repeat` times (default 5) with new conversations
 * and prints the median over the repetitions and their spread (min-max) of:
 * - turns/s: completed turns over the repetition's wall time;
 * - overhead p50/p99 (ms): a turn's latency at the client minus the LLM floor (LLM calls per turn, counted by
 *   the fake LLM, x its latency), so what the server, the pipeline and the expert add, queueing included;
 * - errors (failed turns other than 429) and 429s (refused for load), summed over the repetitions;
 * - loop p99 (ms): the server's event-loop delay p99 (`GET /v1/metrics`; "n/a" for a server without it);
 * - CPU ms/turn: the server's CPU time (all its threads, `/proc/<pid>/stat`) and that of its event-loop thread
 *   alone (`/proc/<pid>/task/<pid>/stat`) per completed turn; both include the NER expert while it runs on the
 *   server's own threads, and SQLite, the LLM client and garbage collection;
 * - peak RSS (MiB) of the server, sampled every 100 ms;
 * - client and LLM CPU ms/turn: the CPU time of this process (the client, `process.cpuUsage`) and of the fake
 *   LLM's process per completed turn, to show that they leave the cores to the server (all three share them).
 * A repetition stops starting turns after `--max-seconds` (default 120); turns still open after 60 s fail.
 * Before the first level, each server serves `--warmup` turns (default 96, 8 conversations at a time) that are
 * not measured, so that the figures are those of a server in steady state (its code optimised by V8).
 *
 *   npm run build && npm run bench:server -- [--levels 1,8,32,100] [--turns 4] [--repeat 5] [--latency 100] [--warmup 96]
 *     [--max-seconds 120] [--server-config config.json] [--cpu-prof DIR] [--server-node-options "--trace-gc ..." [--server-stdout FILE]]
 *     [--compare OTHER/bin/jarvis.js [--compare-config config.json] [--compare-node-options "..."]]
 *
 * `--compare` runs a second `jarvis serve` from another build (e.g. a worktree of the commit before a change)
 * beside this one, repetitions interleaved so that the machine's load falls on both, and prints the ratios
 * of their medians. `--compare bench/support/bare-server.ts` compares with the floor: a bare Node.js server
 * making the same two LLM calls and running the same NER on its event loop, and nothing else (no database,
 * validation, pool or events): what any Node.js server would take per turn on this machine under this load.
 *
 * `--server-node-options` passes flags to the servers' node (e.g. `--trace-gc`, `--max-semi-space-size=32`);
 * `--compare-node-options "..."` gives the compared server other flags (default: the same), so that one flag
 * is weighed side by side against the same build without it (`--compare bin/jarvis.js`);
 * `--server-stdout FILE` appends what the servers print on stdout (where such flags report) to FILE.
 *
 * `--cpu-prof DIR` profiles the server (`node --cpu-prof`, into `DIR/this` and `DIR/compare`) and writes the
 * measured spans beside each profile (`windows.json`); `bench/support/cpu-profile-summary.ts FILE --windows
 * DIR/this/windows.json` says where the server's time went while turns were measured, per turn.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { procCpuMs } from '../src/core/processes.js';
import { cleanEnvironment, JARVIS_BIN } from '../test/support/cli.js';
import { median, option } from './stats.js';
import { formatTable } from './table.js';

function positiveNumbers(name: string, fallback: string): number[] {
  const values = option(name, fallback).split(',').map(Number);
  if (values.some((value) => !Number.isFinite(value) || value <= 0)) {
    throw new Error(`--${name} takes positive numbers, got "${option(name, fallback)}"`);
  }
  return values;
}

const LEVELS = positiveNumbers('levels', '1,8,32,100');
const [TURNS] = positiveNumbers('turns', '4') as [number];
const [REPEAT] = positiveNumbers('repeat', '5') as [number];
const [LATENCY_MS] = positiveNumbers('latency', '100') as [number];
const [MAX_SECONDS] = positiveNumbers('max-seconds', '120') as [number];
const TURN_TIMEOUT_MS = 60_000;
/** Turns served, unmeasured, before the first level (8 conversations at a time). */
const WARMUP_TURNS = Number(option('warmup', '96'));
if (!Number.isInteger(WARMUP_TURNS) || WARMUP_TURNS < 0)
  throw new Error('--warmup takes a whole number of turns');
/** A config file for the server (JSON), e.g. to compare settings; default: none, so the defaults. */
const SERVER_CONFIG = option('server-config', '');
/** Another build of `jarvis` (its bin/jarvis.js) to run beside this one, e.g. the code before a change. */
const COMPARE_BIN = option('compare', '');
/** A config file for the compared server (JSON). */
const COMPARE_CONFIG = option('compare-config', '');
/** Flags for the servers' node, e.g. `--trace-gc` or `--max-semi-space-size=32`. */
const SERVER_NODE_OPTIONS = option('server-node-options', '').split(/\s+/).filter(Boolean);
/** Flags for the compared server's node alone (default: `--server-node-options`), e.g. to weigh one flag. */
const COMPARE_NODE_OPTIONS = option('compare-node-options', SERVER_NODE_OPTIONS.join(' '))
  .split(/\s+/)
  .filter(Boolean);
const SERVER_STDOUT = option('server-stdout', '');
/** A folder for a CPU profile of the server (`node --cpu-prof`), written when it stops. */
const CPU_PROFILE_DIR = option('cpu-prof', '');

const FAKE_LLM = fileURLToPath(new URL('./support/fake-llm-process.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kib ? Number(kib) / 1024 : 0;
}

/** Resolves with the first line `lines` gives that `match` accepts. */
function firstLine<T>(lines: Interface, match: (line: string) => T | undefined, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 60 s`)), 60_000);
    const onLine = (line: string) => {
      const found = match(line);
      if (found === undefined) return;
      clearTimeout(timer);
      lines.off('line', onLine);
      resolve(found);
    };
    lines.on('line', onLine);
  });
}

interface FakeLlm {
  baseURL: string;
  pid: number;
  calls(): Promise<number>;
  stop(): void;
}

async function startFakeLlm(): Promise<FakeLlm> {
  const child = spawn(process.execPath, ['--import', TSX, FAKE_LLM, '--latency', String(LATENCY_MS)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const { baseURL } = await firstLine(
    lines,
    (line) => (line.startsWith('{"baseURL"') ? (JSON.parse(line) as { baseURL: string }) : undefined),
    'The fake LLM',
  );
  return {
    baseURL,
    pid: child.pid!,
    async calls() {
      const answer = firstLine(
        lines,
        (line) => (line.startsWith('{"calls"') ? (JSON.parse(line) as { calls: number }) : undefined),
        'The fake LLM',
      );
      child.stdin!.write('calls\n');
      return (await answer).calls;
    },
    stop: () => child.stdin!.end(),
  };
}

interface Server {
  url: string;
  child: ChildProcess;
  pid: number;
  /** Where its CPU profile goes (`--cpu-prof`). */
  profileDir?: string;
  stderr(): string;
}

async function startJarvisServe(
  baseURL: string,
  home: string,
  bin: string,
  config: string,
  profileDir: string | undefined,
  nodeOptions: string[],
): Promise<Server> {
  const env = cleanEnvironment(home, {
    JARVIS_DATA_DIR: join(home, 'data'),
    JARVIS_LLM_BASE_URL: baseURL,
    JARVIS_LLM_API_KEY: 'sk-bench-0000',
    JARVIS_LLM_MODEL: 'bench',
    JARVIS_OFFLINE: '1',
    JARVIS_INFERENCE_MODE: 'local',
    ...(config ? { JARVIS_CONFIG: resolve(config) } : {}),
  });
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  // A server written in TypeScript (bench/support/bare-server.ts, the floor) runs through tsx, resolved here:
  // the server runs in its own folder, where no node_modules is found.
  const loader = bin.endsWith('.ts') ? ['--import', TSX] : [];
  const args = [...loader, ...profile, ...nodeOptions, bin, 'serve', '--host', '127.0.0.1', '--port', '0'];
  const child = spawn(process.execPath, args, {
    cwd: home,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (SERVER_STDOUT) child.stdout!.pipe(createWriteStream(SERVER_STDOUT, { flags: 'a' }));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await firstLine(
    createInterface({ input: child.stdout! }),
    (line) => /serving on (http:\/\/\S+?) /.exec(line)?.[1],
    'jarvis serve',
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${stderr}`);
  });
  return { url, child, pid: child.pid!, ...(profileDir ? { profileDir } : {}), stderr: () => stderr };
}

type Message = { role: string; content: string };

/**
 * The client's connections, kept open between turns. `node:http` rather than fetch: the client shares the
 * cores with the server, and fetch cost it about twice the CPU per turn (as it did the server's LLM client).
 */
const clientAgent = new Agent({ keepAlive: true });

/** POSTs `payload` as JSON; resolves with the status and the body once all of it has arrived. */
function post(url: string, payload: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(
      url,
      {
        method: 'POST',
        agent: clientAgent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.once('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.once('error', reject);
      },
    );
    // No byte for this long fails the turn (the server holds a quiet connection while a turn runs).
    sent.setTimeout(TURN_TIMEOUT_MS, () => sent.destroy(new Error(`no answer within ${TURN_TIMEOUT_MS} ms`)));
    sent.once('error', reject);
    sent.end(payload);
  });
}

/** One turn; resolves with the answer, or throws an error whose `status` is the HTTP status. */
async function turn(url: string, history: Message[], stream: boolean): Promise<string> {
  const { status, text } = await post(
    `${url}/v1/chat/completions`,
    JSON.stringify({ model: 'jarvis', stream, messages: history }),
  );
  if (status < 200 || status > 299) {
    throw Object.assign(new Error(`HTTP ${status}: ${text.slice(0, 300)}`), { status });
  }
  if (!stream) {
    const body = JSON.parse(text) as { choices: { message: { content: string } }[] };
    return body.choices[0]!.message.content;
  }
  let answer = '';
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6)) as {
      choices?: { delta?: { content?: string } }[];
      error?: { message: string };
    };
    if (chunk.error) throw new Error(`stream error: ${chunk.error.message}`);
    answer += chunk.choices?.[0]?.delta?.content ?? '';
  }
  return answer;
}

interface Metrics {
  eventLoopDelayMs?: { p99: number };
}

async function serverMetrics(url: string, reset = false): Promise<Metrics | undefined> {
  try {
    const response = await fetch(`${url}/v1/metrics${reset ? '/reset' : ''}`, {
      method: reset ? 'POST' : 'GET',
    });
    return response.ok ? ((await response.json()) as Metrics) : undefined;
  } catch {
    return undefined;
  }
}

interface Repetition {
  turns: number;
  latencies: number[];
  errors: number;
  refused: number;
  seconds: number;
  floorMs: number;
  loopP99Ms: number | undefined;
  cpuMsPerTurn: number;
  loopThreadCpuMsPerTurn: number;
  peakRssMiB: number;
  clientCpuMsPerTurn: number;
  llmCpuMsPerTurn: number;
  /** The measured span on CLOCK_MONOTONIC (µs), the clock of `--cpu-prof` profiles. */
  window: { startUs: number; endUs: number; turns: number };
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
const usageMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

let conversationCounter = 0;
let firstError: string | undefined;

async function repetition(server: Server, llm: FakeLlm, conversations: number): Promise<Repetition> {
  const latencies: number[] = [];
  let errors = 0;
  let refused = 0;
  const callsBefore = await llm.calls();
  await serverMetrics(server.url, true);
  const processStat = `/proc/${server.pid}/stat`;
  const loopThreadStat = `/proc/${server.pid}/task/${server.pid}/stat`;
  const cpuBefore = procCpuMs(processStat);
  const loopCpuBefore = procCpuMs(loopThreadStat);
  const llmStat = `/proc/${llm.pid}/stat`;
  const llmCpuBefore = procCpuMs(llmStat);
  const clientCpuBefore = process.cpuUsage();
  const startUs = monotonicUs();
  let peakRssMiB = rssMiB(server.pid);
  const sampler = setInterval(() => {
    peakRssMiB = Math.max(peakRssMiB, rssMiB(server.pid));
  }, 100);
  const deadline = performance.now() + MAX_SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: conversations }, async () => {
      const person = `${++conversationCounter}`;
      const history: Message[] = [];
      for (let round = 0; round < TURNS && performance.now() < deadline; round++) {
        history.push({ role: 'user', content: `Find the people: Person ${person}-${round}` });
        const begin = performance.now();
        try {
          const answer = await turn(server.url, history, round % 2 === 1);
          history.push({ role: 'assistant', content: answer });
          latencies.push(performance.now() - begin);
        } catch (error) {
          if ((error as { status?: number }).status === 429) refused += 1;
          else errors += 1;
          firstError ??= String(error);
          return;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const endUs = monotonicUs();
  const clientCpuMs = usageMs(process.cpuUsage(clientCpuBefore));
  const llmCpuMs = procCpuMs(llmStat) - llmCpuBefore;
  clearInterval(sampler);
  const turns = latencies.length;
  const cpuMs = procCpuMs(processStat) - cpuBefore;
  const loopCpuMs = procCpuMs(loopThreadStat) - loopCpuBefore;
  const calls = (await llm.calls()) - callsBefore;
  const metrics = await serverMetrics(server.url);
  return {
    turns,
    latencies,
    errors,
    refused,
    seconds,
    // A refused turn calls no LLM; a failed one may have called it some.
    floorMs: turns > 0 ? (calls / (turns + errors)) * LATENCY_MS : Number.NaN,
    loopP99Ms: metrics?.eventLoopDelayMs?.p99,
    cpuMsPerTurn: cpuMs / Math.max(1, turns),
    loopThreadCpuMsPerTurn: loopCpuMs / Math.max(1, turns),
    peakRssMiB,
    clientCpuMsPerTurn: clientCpuMs / Math.max(1, turns),
    llmCpuMsPerTurn: llmCpuMs / Math.max(1, turns),
    window: { startUs, endUs, turns },
  };
}

/** "median (min-max)" of a figure over the repetitions. */
function spread(values: readonly (number | undefined)[], digits = 0): string {
  const known = values.filter((value): value is number => value !== undefined && Number.isFinite(value));
  if (known.length === 0) return 'n/a';
  const sorted = [...known].sort((a, b) => a - b);
  const show = (value: number) => value.toFixed(digits);
  return sorted.length === 1
    ? show(sorted[0]!)
    : `${show(median(sorted))} (${show(sorted[0]!)}-${show(sorted.at(-1)!)})`;
}

const overheadAt = (rep: Repetition, p: number) =>
  percentile(
    rep.latencies.map((latency) => latency - rep.floorMs).sort((a, b) => a - b),
    p,
  );

/** The table row of one server at one level. */
function levelRow(label: string, conversations: number, reps: readonly Repetition[]): string[] {
  return [
    label,
    String(conversations),
    String(reps.reduce((sum, rep) => sum + rep.turns, 0)),
    spread(
      reps.map((rep) => rep.turns / rep.seconds),
      1,
    ),
    spread(reps.map((rep) => overheadAt(rep, 50))),
    spread(reps.map((rep) => overheadAt(rep, 99))),
    String(reps.reduce((sum, rep) => sum + rep.errors, 0)),
    String(reps.reduce((sum, rep) => sum + rep.refused, 0)),
    spread(
      reps.map((rep) => rep.loopP99Ms),
      1,
    ),
    spread(
      reps.map((rep) => rep.cpuMsPerTurn),
      1,
    ),
    spread(
      reps.map((rep) => rep.loopThreadCpuMsPerTurn),
      1,
    ),
    spread(reps.map((rep) => rep.peakRssMiB)),
    spread(
      reps.map((rep) => rep.clientCpuMsPerTurn),
      1,
    ),
    spread(
      reps.map((rep) => rep.llmCpuMsPerTurn),
      1,
    ),
    spread(reps.map((rep) => rep.floorMs)),
  ];
}

async function stopServer(server: Server, label: string): Promise<void> {
  server.child.kill('SIGINT');
  await new Promise((resolve) => server.child.once('exit', resolve));
  const lines = server
    .stderr()
    .split('\n')
    .filter((line) => line.trim() !== '');
  if (lines.length > 0) console.log(`\n${label} stderr (last lines):\n${lines.slice(-5).join('\n')}`);
}

async function main(): Promise<void> {
  if (!existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)))) {
    throw new Error('bin/jarvis.js needs dist/: run `npm run build` first.');
  }
  if (COMPARE_BIN && !existsSync(COMPARE_BIN)) throw new Error(`--compare: no such file ${COMPARE_BIN}`);
  const homes: string[] = [];
  const llm = await startFakeLlm();
  const servers: { label: string; server: Server }[] = [];
  /** The measured spans of each server, for its CPU profile. */
  const windows = new Map<Server, Repetition['window'][]>();
  try {
    const wanted = [
      { label: 'this', bin: JARVIS_BIN, config: SERVER_CONFIG, nodeOptions: SERVER_NODE_OPTIONS },
      ...(COMPARE_BIN
        ? [
            {
              label: 'compare',
              bin: resolve(COMPARE_BIN),
              config: COMPARE_CONFIG,
              nodeOptions: COMPARE_NODE_OPTIONS,
            },
          ]
        : []),
    ];
    for (const { label, bin, config, nodeOptions } of wanted) {
      const home = mkdtempSync(join(tmpdir(), 'jarvis-server-load-'));
      homes.push(home);
      const profileDir = CPU_PROFILE_DIR ? resolve(CPU_PROFILE_DIR, label) : undefined;
      if (profileDir) mkdirSync(profileDir, { recursive: true });
      const server = await startJarvisServe(llm.baseURL, home, bin, config, profileDir, nodeOptions);
      servers.push({ label, server });
      // Loads the expert, opens the database and the LLM client's connections before anything is measured.
      await Promise.all(
        Array.from({ length: 4 }, (_, index) =>
          turn(server.url, [{ role: 'user', content: `Find the people: Person warm-${index}` }], index === 1),
        ),
      );
    }
    // Steady state: V8 optimises a function after enough calls, so a server that has served a handful of
    // turns still runs much of its code unoptimised (its first measured level, one conversation, cost ~15 ms of
    // event-loop CPU per turn after 4 turns against ~3 at the next levels). Unmeasured turns first.
    for (const { server } of servers) {
      for (let done = 0; done < WARMUP_TURNS; done += 8 * TURNS) await repetition(server, llm, 8);
    }
    console.log(
      `jarvis serve under load: ${TURNS} turns per conversation, fake LLM ${LATENCY_MS} ms per call, ` +
        `${REPEAT} repetition(s) per level after ${WARMUP_TURNS} unmeasured turns; median (min-max) over repetitions` +
        (COMPARE_BIN ? `; "compare" is ${COMPARE_BIN}, its repetitions interleaved with these` : ''),
    );
    console.log(`${availableParallelism()} CPU cores; load average at start ${loadavg()[0]!.toFixed(1)}`);
    const header = [
      'server',
      'conversations',
      'turns',
      'turns/s',
      'overhead p50 ms',
      'overhead p99 ms',
      'errors',
      '429',
      'loop p99 ms',
      'CPU ms/turn',
      'loop-thread CPU ms/turn',
      'peak RSS MiB',
      'client CPU ms/turn',
      'LLM CPU ms/turn',
      'LLM floor ms',
    ];
    const rows: string[][] = [];
    const ratioRows: string[][] = [];
    const summary: { conversations: number; reps: Repetition[] }[] = [];
    for (const conversations of LEVELS) {
      const reps = servers.map(() => [] as Repetition[]);
      for (let index = 0; index < REPEAT; index++) {
        // Alternate which server goes first, so that a change in the machine's load falls on both.
        const order = servers.map((_, at) => at);
        if (index % 2 === 1) order.reverse();
        for (const at of order) reps[at]!.push(await repetition(servers[at]!.server, llm, conversations));
      }
      summary.push({ conversations, reps: reps[0]! });
      reps.forEach((serverReps, at) => {
        const { server } = servers[at]!;
        windows.set(server, [...(windows.get(server) ?? []), ...serverReps.map((rep) => rep.window)]);
      });
      servers.forEach(({ label }, at) => {
        const row = levelRow(label, conversations, reps[at]!);
        rows.push(row);
        console.log(`${label} at ${conversations}: ${row.slice(3).join(' | ')}`);
      });
      if (servers.length === 2) {
        const ratio = (figure: (rep: Repetition) => number) =>
          (median(reps[0]!.map(figure)) / median(reps[1]!.map(figure))).toFixed(2);
        ratioRows.push([
          String(conversations),
          ratio((rep) => rep.turns / rep.seconds),
          ratio((rep) => overheadAt(rep, 50)),
          ratio((rep) => overheadAt(rep, 99)),
          ratio((rep) => rep.cpuMsPerTurn),
          ratio((rep) => rep.loopThreadCpuMsPerTurn),
          ratio((rep) => rep.peakRssMiB),
        ]);
      }
      console.log(`load average after level ${conversations}: ${loadavg()[0]!.toFixed(1)}`);
    }
    console.log();
    console.log(formatTable(header, rows));
    if (ratioRows.length > 0) {
      console.log();
      console.log('this / compare (medians over the interleaved repetitions):');
      console.log(
        formatTable(
          [
            'conversations',
            'turns/s',
            'overhead p50',
            'overhead p99',
            'CPU/turn',
            'loop-thread CPU/turn',
            'peak RSS',
          ],
          ratioRows,
        ),
      );
    }
    // Each figure of "this" against the target: below 1 meets it.
    const targetRows: string[][] = [];
    for (const { conversations, reps } of summary) {
      const overheads = (p: number) => median(reps.map((rep) => overheadAt(rep, p)));
      const turnsPerSecond = median(reps.map((rep) => rep.turns / rep.seconds));
      const cpu = median(reps.map((rep) => rep.loopThreadCpuMsPerTurn));
      if (conversations === 1) {
        targetRows.push([String(conversations), 'overhead p50 / 30 ms', (overheads(50) / 30).toFixed(2)]);
      }
      if (conversations >= 100) {
        targetRows.push([String(conversations), 'overhead p50 / 150 ms', (overheads(50) / 150).toFixed(2)]);
        targetRows.push([String(conversations), 'overhead p99 / 1000 ms', (overheads(99) / 1000).toFixed(2)]);
        targetRows.push([String(conversations), '60 turns/s / turns/s', (60 / turnsPerSecond).toFixed(2)]);
      }
      targetRows.push([String(conversations), 'loop-thread CPU per turn / 8 ms', (cpu / 8).toFixed(2)]);
    }
    console.log();
    console.log('"this" against the targets of issue 10 (a ratio <= 1 meets the target):');
    console.log(formatTable(['conversations', 'figure', 'ratio'], targetRows));
    if (firstError) console.log(`\nfirst failure: ${firstError}`);
  } finally {
    for (const { label, server } of servers) await stopServer(server, label);
    for (const { server } of servers) {
      if (!server.profileDir) continue;
      const windowsFile = join(server.profileDir, 'windows.json');
      writeFileSync(windowsFile, JSON.stringify(windows.get(server) ?? []));
      // The event-loop thread's profile: node names it after the process and thread 0.
      const mainProfile = readdirSync(server.profileDir).find((name) => name.includes(`.${server.pid}.0.`));
      if (mainProfile) {
        console.log(
          `\nCPU profile of the event-loop thread: node --import tsx bench/support/cpu-profile-summary.ts ` +
            `${join(server.profileDir, mainProfile)} --windows ${windowsFile}`,
        );
      }
    }
    llm.stop();
    await sleep(100);
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  }
}

await main();
