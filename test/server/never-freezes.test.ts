// Issue 15's attacks, each sent to a real `jarvis serve` on loopback while another client asks
// `GET /v1/health` every ~20 ms: no request, plan, upload or expert input may stall the event loop, so every
// health check must be answered within 100 ms, and the server must still be up afterwards. Each attack gets a
// fresh server so that one attack's leftovers cannot be blamed on the next. The bound is about the server, and
// a machine with no core free cannot show it: when the control (no attack) fails too, the machine was starved
// (on the 2-core development machine, running beside another server test file costs up to ~200 ms), and the
// attacks' failures say nothing; run this file alone to judge them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pngDeclaring, wavDeclaring } from '../support/hostile-media.js';
import { type OpenAITestServer, startOpenAITestServer } from '../support/openai-server.js';
import { startChildServer } from './child-server.js';
import { type HealthWaits, pollHealth } from './health-poller.js';
import { isPlanning, lastMessage, NER_SENTENCE } from './support.js';

/** The promise: no health check waits longer than this, whatever else the server is sent. */
const HEALTH_BOUND_MS = 100;
/** How long an attack is watched; an attack the server has not dealt with by then has frozen it anyway. */
const WATCH_MS = 15_000;

let home: string;
let llm: OpenAITestServer;

/** Planning replies as the fuzz suite's worst cases, chosen by a word of the request. */
const REPLIES: Record<string, string> = {
  'reply-bomb': JSON.stringify(unfoldBomb()),
  'reply-chain': JSON.stringify(
    Array.from({ length: 10_000 }, (_, i) => ({
      id: i,
      task: 'summarization',
      dep: [i - 1],
      args: { text: i === 0 ? 'Ada wrote.' : `<GENERATED>-${i - 1}` },
    })),
  ),
  'reply-nested': `${'['.repeat(15_000)}${']'.repeat(15_000)}`,
  'reply-ner': JSON.stringify([
    { id: 0, task: 'token-classification', dep: [-1], args: { text: 'Ada met Charles in London.' } },
  ]),
};

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'jarvis-freeze-'));
  llm = await startOpenAITestServer();
  llm.rule((request) => {
    const text = lastMessage(request);
    const key = Object.keys(REPLIES).find((word) => text.includes(word));
    return key && isPlanning(request) ? REPLIES[key] : 'No tools were needed.';
  });
});

after(async () => {
  await llm?.close();
  rmSync(home, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PlannedTask {
  id: number;
  task: string;
  dep: number[];
  args: Record<string, string>;
}

/** Answers of the attack requests, kept for the report (a refusal is a fine answer; a 5xx is not). */
type Attack = (url: string) => Promise<(number | string)[]>;

async function postRun(url: string, plan: PlannedTask[], files: string[] = []): Promise<Response> {
  return fetch(`${url}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request: 'attack', plan, files, select: 'top', answer: false }),
  });
}

/** Waits until the run has ended (or the watch is over) and answers its status: its event stream ends with it. */
async function runEnded(url: string, id: string, until: number): Promise<string> {
  // One stream the server pushes to, rather than polling that would add its own work to the server's.
  const events = await fetch(`${url}/v1/runs/${id}/events`, {
    signal: AbortSignal.timeout(Math.max(1, until - Date.now())),
  });
  await events.text().catch(() => {});
  const run = (await (await fetch(`${url}/v1/runs/${id}`)).json()) as {
    status: string;
    errors: { message: string }[];
  };
  // A run that failed says why: the report shows whether the limit or something else stopped it.
  const why = run.errors[0]?.message;
  return why ? `${run.status} (${why.slice(0, 120)})` : run.status;
}

/** Starts the run and waits for its end; answers the request's status and the run's. */
async function runPlan(url: string, plan: PlannedTask[], files: string[] = []): Promise<(number | string)[]> {
  const response = await postRun(url, plan, files);
  if (response.status !== 202) return [response.status];
  const { id } = (await response.json()) as { id: string };
  return [response.status, await runEnded(url, id, Date.now() + WATCH_MS)];
}

/** A request the LLM plans (its reply chosen by `word`); the run's own end is waited for. */
async function plannedByLlm(url: string, word: string): Promise<(number | string)[]> {
  const response = await fetch(`${url}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request: `Please plan ${word}`, select: 'top', answer: false }),
  });
  if (response.status !== 202) return [response.status];
  const { id } = (await response.json()) as { id: string };
  return [response.status, await runEnded(url, id, Date.now() + WATCH_MS)];
}

/** Posts a raw body; answers its status. */
async function postRaw(url: string, path: string, body: string): Promise<(number | string)[]> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await response.arrayBuffer();
  return [response.status];
}

async function upload(url: string, bytes: Uint8Array, name: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  return fetch(`${url}/v1/uploads`, { method: 'POST', body: form });
}

/** Uploads the file, then runs one task on it when the upload was taken. */
async function uploadThenRun(url: string, bytes: Uint8Array, name: string, task: string, arg: string) {
  const uploaded = await upload(url, bytes, name);
  if (uploaded.status !== 201) return [uploaded.status];
  const saved = ((await uploaded.json()) as { uploads: { id: string }[] }).uploads[0]!;
  const extension = name.slice(name.lastIndexOf('.') + 1);
  const plan = [{ id: 0, task, dep: [-1], args: { [arg]: `uploads/${saved.id}.${extension}` } }];
  return [uploaded.status, ...(await runPlan(url, plan, [saved.id]))];
}

/** 35 summaries, each of the two before it: unfolding the references into copies grows like Fibonacci. */
function unfoldBomb(): PlannedTask[] {
  return Array.from({ length: 35 }, (_, i) => ({
    id: i,
    task: 'summarization',
    dep: i === 0 ? [-1] : i === 1 ? [0] : [i - 1, i - 2],
    args: {
      text:
        i === 0
          ? 'Ada Lovelace wrote the first program.'
          : i === 1
            ? '<GENERATED>-0'
            : `<GENERATED>-${i - 1} and <GENERATED>-${i - 2}`,
    },
  }));
}

/** About 198 KB of prose with names in it, for the named-entity recogniser. */
function longText(bytes = 198 * 1024): string {
  const sentence =
    'Ada Lovelace met Charles Babbage in London and wrote to Mary Somerville about the engine. ';
  return sentence.repeat(Math.ceil(bytes / sentence.length)).slice(0, bytes);
}

const fileList = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}.png`).join(', ');

// Built once, before any clock runs: building them must not count as the server's time.
const BOMB = unfoldBomb();
const LONG_TEXT = longText();
const SHORTER_TEXT = longText(99_000);
/** A 2 KB WAV whose header claims a sample rate of 0xFFFFFFFF (80 s and 4.4 GB of resampling before its fix). */
const ABSURD_WAV = wavDeclaring({ sampleRate: 0xffffffff, dataBytes: 2000 });
/** A small file declaring 16000×16000 pixels (one segmentation task on such a PNG took 1.4 GB before). */
const HUGE_PNG = pngDeclaring(16_000, 16_000);
const DEEP_BODY = `{"request":"x","plan":${'['.repeat(400_000)}${']'.repeat(400_000)}}`;
const ARRAYS_BODY = `{"model":"jarvis","messages":[${'[],'.repeat(9_000_000)}[]]}`;

/**
 * The attacks. `todo` names the fix an attack waits for: such an
 * attack is still sent and measured (node:test reports it as to-do, not as passed), with the same bound.
 */
const ATTACKS: { name: string; todo?: string; attack: Attack }[] = [
  {
    // The control: if this fails, the machine is too busy for the bound to mean anything.
    name: 'no attack: an ordinary named-entity run',
    attack: (url) =>
      runPlan(url, [{ id: 0, task: 'token-classification', dep: [-1], args: { text: NER_SENTENCE } }]),
  },
  {
    name: 'a 3 KB plan whose references unfold like Fibonacci (35 summaries)',
    attack: (url) => runPlan(url, BOMB),
  },
  {
    name: 'a task name of 500 one-letter words',
    attack: (url) =>
      runPlan(url, [
        { id: 0, task: Array.from({ length: 500 }, () => 'a').join(' '), dep: [-1], args: { text: 'x' } },
      ]),
  },
  {
    name: 'two tasks listing 250 files each',
    attack: (url) =>
      runPlan(url, [
        { id: 0, task: 'image-classification', dep: [-1], args: { image: fileList('a', 250) } },
        { id: 1, task: 'object-detection', dep: [-1], args: { image: fileList('b', 250) } },
      ]),
  },
  {
    name: 'named-entity recognition on a 198 KB text',
    attack: (url) =>
      runPlan(url, [{ id: 0, task: 'token-classification', dep: [-1], args: { text: LONG_TEXT } }]),
  },
  {
    // Under the plan's 100,000-character argument limit, so it reaches the recogniser: it reads the first
    // 20,000 characters in chunks, yielding to the event loop between them (was one 1.2-1.6 s call).
    name: 'named-entity recognition on a 99 KB text (just under the argument limit)',
    attack: (url) =>
      runPlan(url, [{ id: 0, task: 'token-classification', dep: [-1], args: { text: SHORTER_TEXT } }]),
  },
  {
    name: 'speech recognition on a WAV declaring a sample rate of 0xFFFFFFFF',
    attack: (url) => uploadThenRun(url, ABSURD_WAV, 'absurd.wav', 'automatic-speech-recognition', 'audio'),
  },
  {
    name: 'a request body of 800 KB nested 400,000 deep',
    attack: (url) => postRaw(url, '/v1/runs', DEEP_BODY),
  },
  {
    name: 'a 27 MB chat completion body of 9 million empty arrays',
    // Refused by its shape after its first ~150 KB (parsing it took ~4 s), read and decoded piece by piece.
    attack: (url) => postRaw(url, '/v1/chat/completions', ARRAYS_BODY),
  },
  {
    name: "the LLM's planning reply is the unfold bomb",
    attack: (url) => plannedByLlm(url, 'reply-bomb'),
  },
  {
    name: "the LLM's planning reply is a chain of 10,000 tasks",
    // 700 KB: the LLM client stops reading a JSON reply past 512 KiB (it used to read, parse and validate it
    // whole before the plan reader's limit applied: 118-248 ms under load).
    attack: (url) => plannedByLlm(url, 'reply-chain'),
  },
  {
    name: "the LLM's planning reply is nested 15,000 deep",
    attack: (url) => plannedByLlm(url, 'reply-nested'),
  },
  {
    name: 'a 16000×16000 PNG uploaded and segmented',
    attack: (url) => uploadThenRun(url, HUGE_PNG, 'huge.png', 'image-segmentation', 'image'),
  },
];

/** Worst health wait per attack, printed at the end for the report. */
const report: string[] = [];

after(() => {
  if (report.length > 0)
    process.stdout.write(`# worst health-check wait per attack:\n${report.join('\n')}\n`);
});

/** What one attack on a fresh server measured. */
interface Attempt {
  waits: HealthWaits;
  statuses: (number | string)[];
  alive: boolean;
  stderr: string;
}

async function attackFreshServer(dataDir: string, attack: Attack): Promise<Attempt> {
  const server = await startChildServer({
    dataDir,
    home,
    env: { JARVIS_LLM_BASE_URL: llm.baseURL, JARVIS_LLM_API_KEY: 'sk-test', JARVIS_LLM_MODEL: 'test' },
  });
  try {
    // One ordinary run first: what a server loads on its first run (the pipeline, the NER model's code)
    // is compiled on the event loop once per process, and is not what the attack is about.
    await runPlan(server.url, [
      { id: 0, task: 'token-classification', dep: [-1], args: { text: 'Ada met Charles in London.' } },
    ]);
    // And one the LLM plans: the planner's code is compiled on first use too.
    await plannedByLlm(server.url, 'reply-ner');
    const poller = await pollHealth(server.url);
    let statuses: (number | string)[] = [];
    let waits: HealthWaits;
    // A quiet moment first: the bound must hold at rest, or the machine itself is the problem.
    await sleep(300);
    try {
      statuses = await Promise.race([attack(server.url), sleep(WATCH_MS).then(() => [] as number[])]);
      await sleep(200);
    } finally {
      waits = await poller.stop();
    }
    return { waits, statuses, alive: server.child.exitCode === null, stderr: server.stderr };
  } finally {
    await server.kill();
  }
}

/**
 * Tries per attack. On two shared cores a single check now and then waits past the bound with no attack at
 * all (the control has measured 117-179 ms under load), so an attack over the bound is tried again on a fresh
 * server; a real stall (seconds, as each of these attacks caused before its fix) is over the bound every time.
 */
const ATTEMPTS = 5;

describe('the server never freezes: GET /v1/health answers within 100 ms while it is attacked', () => {
  ATTACKS.forEach(({ name, todo, attack }, index) => {
    test(name, { timeout: 120_000 * ATTEMPTS, ...(todo ? { todo } : {}) }, async () => {
      const tries: number[] = [];
      let attempt: Attempt;
      do {
        attempt = await attackFreshServer(join(home, `data-${index}-${tries.length}`), attack);
        tries.push(Math.round(attempt.waits.worstMs));
      } while (
        attempt.alive &&
        attempt.waits.failures === 0 &&
        attempt.waits.worstMs > HEALTH_BOUND_MS &&
        tries.length < ATTEMPTS
      );
      const { waits, statuses } = attempt;
      report.push(
        `#   ${name}: ${tries.join(' ms, then ')} ms worst of ${waits.count} checks, answers ${statuses.join(', ') || 'none in time'}`,
      );
      assert.ok(attempt.alive, `the server died:\n${attempt.stderr.slice(-2000)}`);
      assert.equal(waits.failures, 0, `${waits.failures} health checks failed`);
      assert.ok(
        waits.worstMs <= HEALTH_BOUND_MS,
        `a health check waited ${tries.join(' ms, then ')} ms in ${tries.length} tries (bound ${HEALTH_BOUND_MS} ms)`,
      );
      assert.ok(statuses.length > 0, `no answer to the attack within ${WATCH_MS} ms`);
      assert.ok(
        statuses.every(
          (status) => !String(status).startsWith('running') && (typeof status === 'string' || status < 500),
        ),
        `the attack got ${statuses.join(', ')}`,
      );
    });
  });
});
