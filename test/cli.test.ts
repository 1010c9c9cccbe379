import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunResult } from '../src/core/events.js';
import { cleanEnvironment, NO_LLM_FLAGS, runJarvis, startJarvis } from './support/cli.js';
import { closedPort } from './support/closed-port.js';
import {
  lastUserMessage,
  type OpenAITestServer,
  pickCandidateRule,
  promptText,
  startOpenAITestServer,
  systemPrompt,
} from './support/openai-server.js';

/** The environment of a machine where nothing about Jarvis is configured. */
const cleanEnv = (extra: NodeJS.ProcessEnv = {}) => cleanEnvironment(work, extra);

function jarvis(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string } = {},
) {
  return runJarvis(args, {
    cwd: options.cwd ?? work,
    env: cleanEnv({ JARVIS_DATA_DIR: join(work, 'data'), ...options.env }),
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

let work: string;
let llm: OpenAITestServer;
const llmEnv = () => ({
  JARVIS_LLM_BASE_URL: llm.baseURL,
  JARVIS_LLM_API_KEY: 'sk-cli-test-0000',
  JARVIS_LLM_MODEL: 'test-model',
});

const isPlanning = (request: Parameters<typeof systemPrompt>[0]) =>
  /task planning/i.test(systemPrompt(request));
const isAnswering = (request: Parameters<typeof systemPrompt>[0]) =>
  /response generation/i.test(systemPrompt(request));

const NER_SENTENCE = 'Ada Lovelace met Charles Babbage in London.';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'jarvis-cli-'));
  llm = await startOpenAITestServer();
  llm.rule(pickCandidateRule());
});
after(() => llm.close());

describe('jarvis run --plan without any LLM', () => {
  test('runs real NER and sentiment and prints the documented JSON', async () => {
    const planFile = join(work, 'nlp-plan.json');
    writeFileSync(
      planFile,
      JSON.stringify([
        { id: 0, task: 'token-classification', dep: [-1], args: { text: NER_SENTENCE } },
        {
          id: 1,
          task: 'text-classification',
          dep: [-1],
          args: { text: 'I do not like this at all, it is terrible.' },
        },
      ]),
    );
    const { code, stdout, stderr } = await jarvis(['run', '--plan', planFile, ...NO_LLM_FLAGS]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as RunResult;
    assert.equal(result.answer, null);
    assert.equal(result.usage.llmCalls, 0);
    assert.equal(result.plan.length, 2);
    const [ner, sentiment] = result.tasks;
    assert.equal(ner?.status, 'succeeded');
    assert.equal(ner?.backend, 'local');
    assert.ok(ner?.model);
    assert.ok(ner?.reason);
    assert.equal(typeof ner?.durationMs, 'number');
    assert.match(JSON.stringify(ner?.output), /Ada Lovelace/);
    assert.match(JSON.stringify(ner?.output), /London/);
    assert.equal(sentiment?.status, 'succeeded');
    assert.match(JSON.stringify(sentiment?.output), /negative/i);
  });

  test('accepts a TaskBench plan with <node-k> references', async () => {
    const planFile = join(work, 'taskbench-plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        task_nodes: [{ task: 'Token Classification', arguments: [NER_SENTENCE] }],
        task_links: [],
      }),
    );
    const { code, stdout, stderr } = await jarvis(['run', '--plan', planFile, ...NO_LLM_FLAGS]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as RunResult;
    assert.equal(result.tasks[0]?.task, 'token-classification');
    assert.match(JSON.stringify(result.tasks[0]?.output), /Charles Babbage/);
  });

  test('refuses a plan input outside the working directory and still reports the run', async () => {
    const planFile = join(work, 'escape-plan.json');
    writeFileSync(
      planFile,
      JSON.stringify([
        { id: 0, task: 'image-classification', dep: [-1], args: { image: '../../../../etc/passwd' } },
        { id: 1, task: 'token-classification', dep: [-1], args: { text: NER_SENTENCE } },
      ]),
    );
    const { code, stdout } = await jarvis(['run', '--plan', planFile, ...NO_LLM_FLAGS]);
    assert.equal(code, 3);
    const result = JSON.parse(stdout) as RunResult;
    assert.equal(result.tasks[0]?.status, 'failed');
    assert.equal(result.tasks[1]?.status, 'succeeded');
  });

  test('a run that needs the LLM says in one line what to set', async () => {
    const { code, stdout, stderr } = await jarvis([
      'run',
      'Who is in this sentence? Ada Lovelace met Babbage.',
    ]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /JARVIS_LLM_BASE_URL/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });

  test('an unreachable LLM is one clear line naming the endpoint, at once (refused, unknown host)', async () => {
    const port = await closedPort();
    for (const baseURL of [`http://127.0.0.1:${port}/v1`, 'http://jarvis-nonexistent.invalid/v1']) {
      const started = Date.now();
      // The default retries stay on: they are for 429, 5xx and timeouts, not for an address that is wrong.
      const { code, stderr } = await jarvis(['run', 'hello there'], {
        env: { JARVIS_LLM_BASE_URL: baseURL, JARVIS_LLM_API_KEY: 'sk-unreachable-1234' },
      });
      const elapsedMs = Date.now() - started;
      assert.equal(code, 1, stderr);
      assert.ok(stderr.includes(baseURL), stderr);
      assert.match(stderr, /cannot connect \((ECONNREFUSED|ENOTFOUND|EAI_AGAIN)\)/);
      assert.doesNotMatch(stderr, /attempts/);
      assert.doesNotMatch(stderr, /sk-unreachable-1234/);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      // Process start included; the retries this replaces took 16 s and more.
      assert.ok(elapsedMs < 5000, `${baseURL}: ${elapsedMs} ms`);
    }
  });
});

describe('jarvis run with the controller LLM', () => {
  test('request -> plan -> selection -> real NER and sentiment -> streamed answer', async () => {
    llm.rule((request) =>
      isPlanning(request) && promptText(request).includes('Grace Hopper')
        ? // Real LLM output is messy: prose around a fenced block, and HuggingGPT's <GENERATED-0> quirk is not needed here.
          'Sure! Here is the plan:\n```json\n[{"id": 0, "task": "token-classification", "dep": [-1], "args": {"text": "Grace Hopper worked at Harvard in Cambridge."}}, {"id": 1, "task": "Text Classification", "dep": [-1], "args": {"text": "Grace Hopper worked at Harvard in Cambridge."}}]\n```'
        : undefined,
    );
    llm.rule((request) =>
      isAnswering(request) && promptText(request).includes('Grace Hopper')
        ? {
            content:
              'The sentence mentions Grace Hopper (a person) and Harvard, Cambridge (places). Its tone is neutral.',
          }
        : undefined,
    );
    const before = llm.requests.length;
    const { code, stdout, stderr } = await jarvis(
      [
        'run',
        '--json',
        'Who and what places are in "Grace Hopper worked at Harvard in Cambridge." and what is its tone?',
      ],
      { env: llmEnv() },
    );
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as RunResult;
    assert.deepEqual(
      result.plan.map((task) => task.task),
      ['token-classification', 'text-classification'],
    );
    assert.ok(result.tasks.every((task) => task.status === 'succeeded'));
    assert.match(JSON.stringify(result.tasks[0]?.output), /Grace Hopper/);
    assert.match(result.answer ?? '', /Grace Hopper/);
    const calls = llm.requests.slice(before);
    assert.equal(result.usage.llmCalls, calls.length);
    assert.ok(result.usage.inputTokens > 0);
    assert.ok(result.usage.byStage.plan);
    assert.ok(result.usage.byStage.respond);
    // Stage 4 saw the real expert output.
    const answerPrompt = calls.find(isAnswering);
    assert.ok(answerPrompt);
    assert.match(promptText(answerPrompt), /Grace Hopper/);
    assert.match(promptText(answerPrompt), /PERSON|person/i);
  });

  test('the progress view shows the plan, the model and its reason, each task state, and the answer', async () => {
    llm.rule((request) =>
      isPlanning(request) && promptText(request).includes('Marie Curie')
        ? '[{"id":0,"task":"token-classification","dep":[-1],"args":{"text":"Marie Curie lived in Paris."}}]'
        : undefined,
    );
    llm.rule((request) =>
      isAnswering(request) && promptText(request).includes('Marie Curie')
        ? 'Marie Curie and Paris are mentioned.'
        : undefined,
    );
    const { code, stdout, stderr } = await jarvis(
      ['run', 'Find the entities in: Marie Curie lived in Paris.'],
      {
        env: llmEnv(),
      },
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /token-classification/);
    assert.match(stdout, /local:/);
    assert.match(stdout, /succeeded/);
    assert.match(stdout, /Marie Curie and Paris are mentioned\./);
  });

  test('an empty plan means just chat: the LLM answers directly', async () => {
    llm.rule((request) =>
      isPlanning(request) && promptText(request).includes('tell me a joke') ? '[]' : undefined,
    );
    llm.rule((request) =>
      !isPlanning(request) && !isAnswering(request) && promptText(request).includes('tell me a joke')
        ? 'Why did the zebra cross the savanna?'
        : undefined,
    );
    const { code, stdout, stderr } = await jarvis(['run', '--json', 'tell me a joke'], { env: llmEnv() });
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as RunResult;
    assert.deepEqual(result.plan, []);
    assert.equal(result.answer, 'Why did the zebra cross the savanna?');
  });

  test('a plan that stays invalid after one repair is reported and answered as plain chat', async () => {
    llm.rule((request) =>
      isPlanning(request) && promptText(request).includes('frobnicate')
        ? '[{"id":0,"task":"frobnicate-the-image","dep":[-1],"args":{"image":"a.jpg"}}]'
        : undefined,
    );
    llm.rule((request) =>
      !isPlanning(request) && promptText(request).includes('frobnicate')
        ? 'I cannot frobnicate, sorry.'
        : undefined,
    );
    const { code, stdout } = await jarvis(['run', '--json', 'please frobnicate a.jpg'], { env: llmEnv() });
    assert.equal(code, 3);
    const result = JSON.parse(stdout) as RunResult;
    assert.deepEqual(result.plan, []);
    assert.equal(result.errors[0]?.stage, 'plan');
    assert.match(result.errors[0]?.message ?? '', /frobnicate/);
    assert.equal(result.answer, 'I cannot frobnicate, sorry.');
  });

  test("text tasks the controller performs count in the run's usage", async () => {
    llm.rule((request) =>
      /summarize/i.test(systemPrompt(request)) && lastUserMessage(request).includes('Zebras live in Africa')
        ? { content: 'Zebras are African.', usage: { prompt_tokens: 30, completion_tokens: 4 } }
        : undefined,
    );
    const planFile = join(work, 'summary-plan.json');
    writeFileSync(
      planFile,
      JSON.stringify([
        {
          id: 0,
          task: 'summarization',
          dep: [-1],
          args: { text: 'Zebras live in Africa and have stripes.' },
        },
      ]),
    );
    const { code, stdout, stderr } = await jarvis(['run', '--plan', planFile, ...NO_LLM_FLAGS], {
      env: llmEnv(),
    });
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as RunResult;
    assert.equal(result.tasks[0]?.backend, 'llm');
    assert.equal(
      result.tasks[0]?.status === 'succeeded' && result.tasks[0].output.text,
      'Zebras are African.',
    );
    assert.deepEqual(result.usage.byStage.execute, { calls: 1, inputTokens: 30, outputTokens: 4 });
    assert.equal(result.usage.llmCalls, 1);
  });

  test('jarvis plan prints only the task graph', async () => {
    llm.rule((request) =>
      isPlanning(request) && promptText(request).includes('zebras in b.jpg')
        ? '{"id": 0, "task": "object-detection", "dep": [-1], "args": {"image": "b.jpg"}}'
        : undefined,
    );
    const { code, stdout, stderr } = await jarvis(['plan', 'how many zebras in b.jpg?'], { env: llmEnv() });
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), [
      { id: 0, task: 'object-detection', dep: [-1], args: { image: 'b.jpg' } },
    ]);
  });

  test('jarvis chat carries earlier turns and their results into later ones', async () => {
    llm.rule((request) => {
      if (!isPlanning(request)) return undefined;
      const text = lastUserMessage(request);
      if (text.includes('now summarize that')) return '[]';
      if (text.includes('people in: Alan Turing')) {
        return '[{"id":0,"task":"token-classification","dep":[-1],"args":{"text":"Alan Turing lived in Wilmslow."}}]';
      }
      return undefined;
    });
    llm.rule((request) =>
      isAnswering(request) && promptText(request).includes('Alan Turing')
        ? 'Alan Turing (person), Wilmslow (place).'
        : undefined,
    );
    llm.rule((request) =>
      !isPlanning(request) && !isAnswering(request) && lastUserMessage(request).includes('now summarize that')
        ? 'You asked about Alan Turing.'
        : undefined,
    );
    const before = llm.requests.length;
    const { code, stdout, stderr } = await jarvis(['chat'], {
      env: llmEnv(),
      input: 'Find the people in: Alan Turing lived in Wilmslow.\nnow summarize that\n',
    });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Alan Turing \(person\), Wilmslow \(place\)\./, stderr);
    assert.match(stdout, /You asked about Alan Turing\./);
    const secondPlan = llm.requests.slice(before).filter(isPlanning).at(-1);
    assert.ok(secondPlan);
    // The second turn's planner saw the first turn's request, answer and task results.
    assert.match(promptText(secondPlan), /Alan Turing lived in Wilmslow/);
    assert.match(promptText(secondPlan), /Wilmslow \(place\)/);
  });
});

describe('jarvis models and doctor', () => {
  test('models --json lists each model with backend, availability and reason', async () => {
    const { code, stdout, stderr } = await jarvis(['models', '--json']);
    assert.equal(code, 0, stderr);
    const rows = JSON.parse(stdout) as {
      id: string;
      task: string;
      backend: string;
      available: boolean;
      reason: string | null;
      description: string;
    }[];
    const ner = rows.find((row) => row.task === 'token-classification' && row.backend === 'local');
    assert.ok(ner?.available);
    assert.ok(ner.description.length > 0);
    const summarizer = rows.find((row) => row.task === 'summarization' && row.backend === 'llm');
    assert.equal(summarizer?.available, false);
    assert.match(summarizer?.reason ?? '', /JARVIS_LLM_BASE_URL/);
  });

  test('models --task filters to one task and rejects unknown ones', async () => {
    const ok = await jarvis(['models', '--json', '--task', 'Token Classification']);
    assert.equal(ok.code, 0, ok.stderr);
    const rows = JSON.parse(ok.stdout) as { task: string }[];
    assert.ok(rows.length > 0);
    assert.ok(rows.every((row) => row.task === 'token-classification'));
    const bad = await jarvis(['models', '--task', 'teleportation']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown task "teleportation"/);
    const nearMiss = await jarvis(['models', '--task', 'object-detecton']);
    assert.match(nearMiss.stderr, /Did you mean "object-detection"\?/);
  });

  test('doctor reports the endpoint as reachable and the backends', async () => {
    const { code, stdout, stderr } = await jarvis(['doctor'], { env: llmEnv() });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /LLM endpoint: .*answers/);
    assert.match(stdout, /Backend local/);
  });

  test('doctor fails when the configured endpoint is unreachable', async () => {
    const { code, stdout } = await jarvis(['doctor'], {
      env: { JARVIS_LLM_BASE_URL: 'http://127.0.0.1:9/v1' },
    });
    assert.equal(code, 1);
    assert.match(stdout, /unreachable/);
  });

  test('pull explains that it cannot download while offline', async () => {
    const { code, stderr } = await jarvis(['pull', 'Xenova/detr-resnet-50', '--offline']);
    assert.equal(code, 1);
    assert.match(stderr, /cannot download Xenova\/detr-resnet-50: Jarvis is offline/);
    const unknown = await jarvis(['pull', 'someone/some-model']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Give --task/);
  });

  test('doctor exits 1 when there is no controller and no way to get one', async () => {
    // Offline, nothing configured and nothing cached: the default model cannot be downloaded either.
    const { code, stdout } = await jarvis(['doctor', '--offline']);
    assert.equal(code, 1, stdout);
    assert.match(stdout, /✗ Controller/);
  });

  test('doctor exits 1 when no expert can run, saying what to set', async () => {
    const { code, stdout } = await jarvis(['doctor', '--mode', 'huggingface', '--offline'], {
      env: llmEnv(),
    });
    assert.equal(code, 1, stdout);
    assert.match(stdout, /LLM endpoint: .*answers/);
    assert.match(stdout, /Experts: no expert model can run in mode huggingface: set HF_TOKEN/);
  });

  test('a command line that cannot be done as asked exits 2 with the reason', async () => {
    const nothing = await jarvis(['run']);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /Nothing to do/);
    const missing = await jarvis(['run', '--file', 'no-such-photo.jpg', 'describe it']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--file no-such-photo\.jpg: no such file/);
    const chatPlan = await jarvis(['chat', '--plan', 'plan.json']);
    assert.equal(chatPlan.code, 2);
    assert.match(chatPlan.stderr, /--plan is for jarvis run/);
  });

  test('a --plan file that is missing, not JSON or names an unknown task exits 2 in one line', async () => {
    const missing = await jarvis(['run', '--plan', 'no-such-plan.json', ...NO_LLM_FLAGS]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /^jarvis: --plan no-such-plan\.json: no such file/);
    assert.equal(missing.stdout, '');
    writeFileSync(join(work, 'not-json.json'), '[{ nope');
    const notJson = await jarvis(['run', '--plan', 'not-json.json', ...NO_LLM_FLAGS]);
    assert.equal(notJson.code, 2, notJson.stderr);
    assert.match(notJson.stderr, /--plan not-json\.json: not valid JSON/);
    writeFileSync(
      join(work, 'teleport-plan.json'),
      JSON.stringify([{ id: 0, task: 'object-detecton', dep: [-1], args: { image: 'a.jpg' } }]),
    );
    const unknownTask = await jarvis(['run', '--plan', 'teleport-plan.json', ...NO_LLM_FLAGS]);
    assert.equal(unknownTask.code, 2, unknownTask.stderr);
    assert.match(unknownTask.stderr, /--plan teleport-plan\.json: .*object-detecton/);
    assert.match(unknownTask.stderr, /object-detection/);
    for (const result of [missing, notJson, unknownTask]) {
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });

  test('an unknown config key exits 1 naming the key meant', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'jarvis-config-key-'));
    writeFileSync(join(folder, 'jarvis.config.json'), JSON.stringify({ selct: { strategy: 'top' } }));
    const top = await jarvis(['models'], { cwd: folder });
    assert.equal(top.code, 1, top.stderr);
    assert.equal(
      top.stderr,
      'jarvis: unknown config key "selct" in jarvis.config.json — did you mean "select"?\n',
    );
    writeFileSync(join(folder, 'jarvis.config.json'), JSON.stringify({ execute: { concurency: 2 } }));
    writeFileSync(
      join(folder, 'plan.json'),
      JSON.stringify([{ id: 0, task: 'token-classification', dep: [-1], args: { text: NER_SENTENCE } }]),
    );
    const nested = await jarvis(['run', '--plan', 'plan.json', ...NO_LLM_FLAGS], { cwd: folder });
    assert.equal(nested.code, 1, nested.stderr);
    assert.match(
      nested.stderr,
      /unknown config key "execute\.concurency" .*did you mean "execute\.concurrency"\?/,
    );
  });

  test('help and version exit 0; an unknown command exits 2', async () => {
    const help = await jarvis(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: jarvis/);
    for (const command of ['run', 'plan', 'chat', 'models', 'pull', 'doctor', 'serve']) {
      assert.match(help.stdout, new RegExp(`\\n\\s+${command}\\b`), command);
    }
    const version = await jarvis(['--version']);
    assert.equal(version.code, 0);
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(version.stdout, `${manifest.version}\n`);
    const unknown = await jarvis(['teleport']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'teleport'/);
  });

  test('bad flags exit 2 with usage help', async () => {
    const { code, stderr } = await jarvis(['run', '--select', 'random', 'x']);
    assert.equal(code, 2);
    assert.match(stderr, /random/);
  });
});

describe('cancelling', () => {
  test('Ctrl-C stops a running run cleanly with exit code 130', async () => {
    // An input URL whose server never answers keeps the task running until it is cancelled.
    const { createServer } = await import('node:http');
    const stalled = createServer(() => {});
    await new Promise<void>((ready) => stalled.listen(0, '127.0.0.1', ready));
    const port = (stalled.address() as { port: number }).port;
    const folder = mkdtempSync(join(tmpdir(), 'jarvis-cancel-'));
    writeFileSync(
      join(folder, 'jarvis.config.json'),
      JSON.stringify({ execute: { allowPrivateUrls: true } }),
    );
    writeFileSync(
      join(folder, 'plan.json'),
      JSON.stringify([
        { id: 0, task: 'object-detection', dep: [-1], args: { image: `http://127.0.0.1:${port}/zebra.jpg` } },
      ]),
    );
    const started = startJarvis(['run', '--plan', 'plan.json', ...NO_LLM_FLAGS], {
      cwd: folder,
      env: cleanEnv({ JARVIS_DATA_DIR: join(folder, 'data') }),
    });
    // Wait until the task is running (its URL is being fetched), then interrupt.
    let requested = false;
    stalled.on('request', () => {
      requested = true;
    });
    for (let waited = 0; !requested && waited < 60_000; waited += 100) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    started.child.kill('SIGINT');
    const { code, stdout, stderr } = await started.done;
    stalled.closeAllConnections();
    stalled.close();
    assert.equal(code, 130, stderr);
    assert.match(stderr, /cancel/);
    // What the run did before it stopped is still reported.
    const partial = JSON.parse(stdout) as RunResult;
    assert.equal(partial.tasks[0]?.status, 'failed');
    assert.equal(partial.tasks[0]?.error?.code, 'cancelled');
    assert.ok(partial.errors.some((error) => error.code === 'cancelled'));
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
});
