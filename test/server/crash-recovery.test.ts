// `kill -9` of a real `jarvis serve` while runs, uploads and conversations are in flight, at seeded random
// moments: every start after a kill must find all it acknowledged, mark what it was running as interrupted,
// and leave no per-run workspace or partial file behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient } from '@libsql/client';
import { seededRandom } from '../../scripts/seeded-random.js';
import { type OpenAITestServer, startOpenAITestServer } from '../support/openai-server.js';
import { tinyPng } from '../support/test-backend.js';
import { type ChildServer, startChildServer } from './child-server.js';
import { answerWhen, isPlanning, lastMessage, NER_SENTENCE } from './support.js';

const SEED = 15;
const ROUNDS = 10;

let llm: OpenAITestServer;
let home: string;
let dataDir: string;

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'jarvis-crash-'));
  dataDir = join(home, 'data');
  llm = await startOpenAITestServer();
  // Planning takes as long as the request asks ("wait 300"), so that kills land before, during and after it.
  llm.rule((request) => {
    if (!isPlanning(request)) return undefined;
    const text = lastMessage(request);
    const wait = Number(/wait (\d+)/.exec(text)?.[1] ?? 0);
    const plan = [{ id: 0, task: 'token-classification', dep: [-1], args: { text: NER_SENTENCE } }];
    return { content: JSON.stringify(plan), delayMs: wait };
  });
  answerWhen(llm, 'Find the people', { content: 'Ada Lovelace and Charles Babbage.', chunkDelayMs: 20 });
});

after(async () => {
  await llm?.close();
  rmSync(home, { recursive: true, force: true });
});

interface Acknowledged {
  conversations: Set<string>;
  runs: Set<string>;
  uploads: Set<string>;
}

const postJson = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** One client: uploads, starts runs (some in earlier conversations), until the server goes away. */
async function client(server: ChildServer, random: () => number, seen: Acknowledged): Promise<void> {
  let conversationId: string | undefined;
  for (;;) {
    try {
      let files: string[] = [];
      if (random() < 0.5) {
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(tinyPng(200, 30, 30))]), 'red.png');
        const uploaded = await fetch(`${server.url}/v1/uploads`, { method: 'POST', body: form });
        if (uploaded.status !== 201) continue;
        const id = ((await uploaded.json()) as { uploads: { id: string }[] }).uploads[0]!.id;
        seen.uploads.add(id);
        files = [id];
      }
      // Half the runs bring their plan and need no LLM: they finish quickly, so kills also land between runs.
      const planned = random() < 0.5;
      const started = await postJson(`${server.url}/v1/runs`, {
        request: `Find the people, wait ${Math.floor(random() * 600)}`,
        files,
        ...(conversationId && random() < 0.5 ? { conversationId } : {}),
        ...(planned
          ? {
              plan: [{ id: 0, task: 'token-classification', dep: [-1], args: { text: NER_SENTENCE } }],
              select: 'top',
              answer: false,
            }
          : {}),
      });
      if (started.status !== 202) {
        // Over the per-key cap (429): wait a little as a client would, instead of spinning.
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const body = (await started.json()) as { id: string; conversationId: string };
      seen.runs.add(body.id);
      seen.conversations.add(body.conversationId);
      conversationId = body.conversationId;
    } catch {
      return; // The server was killed: connections are refused or reset from here on.
    }
  }
}

const workspaceCount = () =>
  existsSync(join(dataDir, 'workspaces')) ? readdirSync(join(dataDir, 'workspaces')).length : 0;

/** Every acknowledged record is there after a restart; no run is still "running". Answers the statuses. */
async function checkAfterRestart(server: ChildServer, seen: Acknowledged): Promise<Map<string, number>> {
  for (const id of seen.conversations) {
    const response = await fetch(`${server.url}/v1/conversations/${id}`);
    assert.equal(response.status, 200, `conversation ${id} was acknowledged but is gone`);
    const body = (await response.json()) as { messages: { role: string }[] };
    assert.ok(
      body.messages.some((message) => message.role === 'user'),
      `conversation ${id} lost its message`,
    );
  }
  for (const id of seen.uploads) {
    const response = await fetch(`${server.url}/v1/uploads/${id}/content`);
    assert.equal(response.status, 200, `upload ${id} was acknowledged but is gone`);
    await response.arrayBuffer();
  }
  const statuses = new Map<string, number>();
  for (const id of seen.runs) {
    const response = await fetch(`${server.url}/v1/runs/${id}`);
    assert.equal(response.status, 200, `run ${id} was acknowledged but is gone`);
    const run = (await response.json()) as { status: string; artifacts: { path: string }[] };
    assert.notEqual(run.status, 'running', `run ${id} is still "running" after a restart`);
    statuses.set(run.status, (statuses.get(run.status) ?? 0) + 1);
  }
  return statuses;
}

test('after kill -9 at 10 random moments, every start finds all it acknowledged, marks interrupted runs and leaves no workspace behind', {
  timeout: 300_000,
}, async () => {
  // Kill points from a generator of their own: the clients' draws depend on timing, these must not.
  const killRandom = seededRandom(SEED);
  const random = seededRandom(SEED + 1);
  const seen: Acknowledged = { conversations: new Set(), runs: new Set(), uploads: new Set() };
  let leftBehind = 0;
  let swept = 0;
  const killPoints: number[] = [];
  let statuses = new Map<string, number>();
  for (let round = 0; round <= ROUNDS; round += 1) {
    const before = workspaceCount();
    leftBehind += before;
    const server = await startChildServer({
      dataDir,
      home,
      env: { JARVIS_LLM_BASE_URL: llm.baseURL, JARVIS_LLM_API_KEY: 'sk-test', JARVIS_LLM_MODEL: 'test' },
    });
    try {
      assert.equal(
        workspaceCount(),
        0,
        `round ${round}: ${before} workspace(s) left by the kill survived the start`,
      );
      swept += before;
      statuses = await checkAfterRestart(server, seen);
      if (round === ROUNDS) break;
      const clients = [0, 1, 2].map(() => client(server, random, seen));
      const killAfter = Math.floor(300 + killRandom() * 2700);
      killPoints.push(killAfter);
      await new Promise((resolve) => setTimeout(resolve, killAfter));
      await server.kill();
      await Promise.all(clients);
    } finally {
      await server.kill();
    }
  }
  // The last start has checked everything; count what the kills interrupted from the database itself.
  const database = createClient({ url: `file:${join(dataDir, 'jarvis.db')}` });
  try {
    const integrity = await database.execute('PRAGMA integrity_check');
    assert.equal(String(integrity.rows[0]?.[0]), 'ok');
    const interrupted = (await database.execute("SELECT id FROM runs WHERE status = 'interrupted'")).rows;
    const artifacts = (await database.execute('SELECT run_id, path FROM artifacts')).rows;
    const kept = new Set(artifacts.map((row) => String(row[1])));
    for (const row of interrupted) {
      const runDir = join(dataDir, 'runs', String(row[0]));
      const files = existsSync(runDir) ? readdirSync(runDir, { recursive: true, withFileTypes: true }) : [];
      const stray = files
        .filter((entry) => !entry.isDirectory())
        .map((entry) => join(entry.parentPath, entry.name))
        .filter((path) => !kept.has(path));
      assert.deepEqual(
        stray.map((path) => relative(dataDir, path)),
        [],
        'partial files of an interrupted run',
      );
    }
    assert.ok(interrupted.length > 0, 'no kill landed while a run was going: the test proves nothing');
    assert.ok(leftBehind > 0, 'no kill left a workspace behind: the sweep was not tested');
    assert.ok(seen.runs.size >= ROUNDS, `only ${seen.runs.size} runs were acknowledged`);
    process.stdout.write(
      `# kill points (ms): ${killPoints.join(', ')}; acknowledged: ${seen.conversations.size} conversations, ${seen.runs.size} runs, ${seen.uploads.size} uploads; runs by status: ${[...statuses].map(([status, count]) => `${count} ${status}`).join(', ')}; workspaces left by kills: ${leftBehind}, swept at start: ${swept}\n`,
    );
  } finally {
    database.close();
  }
});
