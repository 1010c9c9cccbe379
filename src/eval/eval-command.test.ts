import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanEnvironment, runMain } from '../../test/support/cli.js';
import { fixture } from '../../test/support/fixtures.js';
import {
  type ChatCompletionRequest,
  lastUserMessage,
  type OpenAITestServer,
  type ReplyRule,
  startOpenAITestServer,
} from '../../test/support/openai-server.js';
import { contentType, readGoldLines, readTaskBenchTools, taskBenchVocabulary } from './index.js';

const DOMAIN = 'huggingface';
const goldFile = fixture('taskbench', `${DOMAIN}.sample.jsonl`);
const toolsFile = fixture('taskbench', `${DOMAIN}.tool_desc.json`);
const gold = readGoldLines(readFileSync(goldFile, 'utf8'));
const vocabulary = taskBenchVocabulary(readTaskBenchTools(JSON.parse(readFileSync(toolsFile, 'utf8'))));

type Row = Record<string, unknown> & { task_nodes: { task: string; arguments: unknown[] }[] };

/**
 * The gold plan as the reply an LLM following Jarvis's prompt would write, or undefined when Jarvis's plan
 * shape cannot hold it without loss (two arguments of one kind, a reference that is not `<node-k>`, a tool
 * missing from the list, nodes out of dependency order).
 */
function goldReply(row: Row): string | undefined {
  if (!Array.isArray(row.task_nodes)) return undefined;
  const tasks = [];
  for (const [index, node] of row.task_nodes.entries()) {
    const definition = vocabulary.get(node.task);
    if (!definition || !Array.isArray(node.arguments)) return undefined;
    const args: Record<string, string | null> = { text: null, image: null, audio: null, video: null };
    const dep: number[] = [];
    for (const argument of node.arguments) {
      if (typeof argument !== 'string') return undefined;
      const reference = /^<node-(\d+)>$/.exec(argument);
      let kind: string;
      let value = argument;
      if (reference) {
        const producer = Number(reference[1]);
        if (producer >= index) return undefined;
        const outputs = vocabulary.get(row.task_nodes[producer]!.task)?.outputs ?? [];
        kind = outputs.find((output) => definition.inputs.includes(output)) ?? 'text';
        value = `<GENERATED>-${producer}`;
        dep.push(producer);
      } else {
        if (argument.includes('<') || /[,;]|\band\b/.test(argument)) return undefined;
        kind = contentType(argument);
      }
      if (args[kind] !== null || !definition.inputs.includes(kind as never)) return undefined;
      args[kind] = value;
    }
    tasks.push({ task: node.task, id: index, dep: dep.length > 0 ? dep : [-1], args });
  }
  return JSON.stringify({ tasks });
}

const replayable = gold.filter((row) => goldReply(row as Row) !== undefined);
const replyFor = new Map(replayable.map((row) => [row.instruction as string, goldReply(row as Row)!]));

let work: string;
let llm: OpenAITestServer;
/** What the loopback LLM answers; each test sets its own. */
let respond: ReplyRule = () => '[]';

function jarvisEval(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runMain(['eval', 'taskbench', ...args], {
    cwd: work,
    env: cleanEnvironment(work, {
      JARVIS_LLM_BASE_URL: llm.baseURL,
      JARVIS_LLM_API_KEY: 'sk-eval-test-0000',
      JARVIS_LLM_MODEL: 'test-model',
    }),
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'jarvis-eval-'));
  llm = await startOpenAITestServer();
  llm.rule((request, index) => respond(request, index));
});
after(() => llm.close());

describe('jarvis eval taskbench', () => {
  test('replaying the gold plans through the controller scores 1.0 on every metric, and a rerun resumes', async () => {
    assert.ok(replayable.length >= 50, `only ${replayable.length} replayable gold rows`);
    const goldSubset = join(work, 'replayable.jsonl');
    writeFileSync(goldSubset, `${replayable.map((row) => JSON.stringify(row)).join('\n')}\n`);
    const seen: ChatCompletionRequest[] = [];
    respond = (request) => {
      seen.push(request);
      return replyFor.get(lastUserMessage(request)) ?? '[]';
    };
    const first = await jarvisEval([
      '--gold',
      goldSubset,
      '--tools',
      toolsFile,
      '--out',
      'replay.jsonl',
      '--concurrency',
      '4',
      '--json',
    ]);
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout) as {
      metrics: Record<string, Record<string, number>>;
      run: Record<string, number>;
    };
    const overall = report.metrics.overall_overall!;
    assert.equal(overall.all_samples, replayable.length);
    for (const key of [
      'node_micro_f1_no_matching',
      'node_micro_precision_no_matching',
      'node_micro_recall_no_matching',
      'link_binary_f1',
      'argument_task_argname_binary_f1_no_matching',
      'argument_task_argname_value_binary_f1_no_matching',
    ]) {
      assert.equal(overall[key], 1, key);
    }
    assert.equal(overall.edit_distance, 0);
    assert.equal(report.run.planned, replayable.length);
    assert.equal(report.run.llm_calls, replayable.length);
    assert.equal(report.run.valid_plan_share, 1);
    assert.equal(report.run.valid_reply_share, 1);
    assert.ok((report.run.input_tokens ?? 0) > 0);
    // The controller was given TaskBench's tools, not Jarvis's own list.
    const system = String(seen[0]!.messages[0]!.content);
    assert.ok(system.includes('Image Segmentation (image -> image)'), system.slice(0, 400));
    assert.ok(!system.includes('openpose-control'));

    const callsBefore = llm.requests.length;
    const again = await jarvisEval([
      '--gold',
      goldSubset,
      '--tools',
      toolsFile,
      '--out',
      'replay.jsonl',
      '--json',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(llm.requests.length, callsBefore, 'a rerun asks the LLM nothing already predicted');
    const resumed = JSON.parse(again.stdout) as { run: Record<string, number>; metrics: unknown };
    assert.equal(resumed.run.resumed, replayable.length);
    assert.deepEqual(resumed.metrics, report.metrics);
  });

  test('broken replies become empty plans after the repair round; a failed call is retried by the next run', async () => {
    const rows = replayable.slice(0, 12);
    const goldSubset = join(work, 'broken.jsonl');
    writeFileSync(goldSubset, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
    const broken = new Set(rows.slice(0, 4).map((row) => row.instruction as string));
    const failing = rows[4]!.instruction as string;
    // Fails on every try (the client retries a 500) until the rerun.
    let down = true;
    respond = (request) => {
      const asked = lastUserMessage(request);
      const first = request.messages.find((message) => message.role === 'user')?.content;
      if (first === failing && down) {
        return { status: 500, body: '{"error":{"message":"boom"}}' };
      }
      for (const instruction of broken) {
        if (first === instruction) return '[{"task": "Magic Wand", "id": 0, "args": {"text": "x"}}]';
      }
      return replyFor.get(asked) ?? '[]';
    };
    const result = await jarvisEval([
      '--gold',
      goldSubset,
      '--tools',
      toolsFile,
      '--out',
      'broken.out.jsonl',
      '--json',
    ]);
    assert.equal(result.code, 3, 'a failed request makes the exit code 3');
    const report = JSON.parse(result.stdout) as {
      metrics: Record<string, Record<string, number>>;
      run: Record<string, number>;
    };
    assert.equal(report.run.failed, 1);
    assert.equal(report.run.planned, 12);
    assert.equal(report.run.valid_plan_share, 7 / 12);
    // 4 broken requests asked twice (reply, repair), 7 good ones once: 7 valid replies of 15.
    assert.equal(report.run.valid_reply_share, 7 / 15);
    const overall = report.metrics.overall_overall!;
    // As in evaluate.py, a line without "result" counts among the samples but is not scored.
    assert.equal(overall.all_samples, 12);
    assert.equal(overall.node_supports, 11, 'the failed request has no prediction yet');
    assert.match(result.stderr, /1 of 12 predictions could not be read/);
    assert.ok(overall.node_micro_recall_no_matching! < 1);
    assert.equal(overall.node_micro_precision_no_matching, 1, 'an empty plan predicts no wrong tool');
    const lines = readFileSync(join(work, 'broken.out.jsonl'), 'utf8').trim().split('\n');
    const brokenLine = lines.map((line) => JSON.parse(line)).find((line) => broken.has(line.user_request));
    assert.deepEqual(brokenLine.result.task_nodes, []);
    assert.equal(brokenLine.jarvis.valid, false);
    assert.ok(lines.some((line) => line.includes('"error"')));

    down = false;
    const rerun = await jarvisEval([
      '--gold',
      goldSubset,
      '--tools',
      toolsFile,
      '--out',
      'broken.out.jsonl',
      '--json',
    ]);
    assert.equal(rerun.code, 0, rerun.stderr);
    const second = JSON.parse(rerun.stdout) as {
      run: Record<string, number>;
      metrics: Record<string, Record<string, number>>;
    };
    assert.equal(second.run.planned, 1, 'only the failed request is planned again');
    assert.equal(second.metrics.overall_overall!.node_supports, 12);
  });

  test('scoring a predictions file with unreadable lines warns and counts them as empty predictions', async () => {
    const rows = gold.slice(0, 3);
    const predictions = join(work, 'with-garbage.jsonl');
    writeFileSync(
      predictions,
      [
        JSON.stringify({
          id: rows[0]!.id,
          result: { task_nodes: rows[0]!.task_nodes, task_links: [], task_steps: [] },
        }),
        `{"id": "${rows[1]!.id}", "result": {"task_nodes": [{"task": "Translation", "argu`,
        'not json at all',
      ].join('\n'),
    );
    const result = await jarvisEval([
      '--gold',
      goldFile,
      '--tools',
      toolsFile,
      '--predictions',
      predictions,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /line 2 is not JSON; counted as an empty prediction for id "\d+"/);
    assert.match(result.stderr, /line 3 is not JSON and names no id; skipped/);
    const report = JSON.parse(result.stdout) as { metrics: Record<string, Record<string, number>> };
    assert.equal(report.metrics.overall_overall!.all_samples, 2);
    assert.equal(report.metrics.overall_overall!.node_micro_precision_no_matching, 1);
    assert.equal(report.metrics.overall_overall!.node_micro_recall_no_matching, 0.5);
  });

  test('bad input is a clear error with exit code 2', async () => {
    const missing = await jarvisEval(['--gold', 'nope.jsonl', '--tools', toolsFile, '--predictions', 'x']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--gold .*nope\.jsonl/);
    const noTools = await jarvisEval(['--gold', goldFile, '--predictions', 'x']);
    assert.equal(noTools.code, 2);
    assert.match(noTools.stderr, /needs the tool list: --tools tool_desc\.json/);
    const badGold = join(work, 'bad-gold.jsonl');
    writeFileSync(badGold, '{"id": 1}\n{oops\n');
    const bad = await jarvisEval(['--gold', badGold, '--tools', toolsFile, '--predictions', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /gold line 2 is not JSON/);
    const other = await jarvisEval(['--gold', goldFile]);
    assert.equal((await jarvisEval([])).code, 2);
    assert.equal(other.code, 2);
  });
});
