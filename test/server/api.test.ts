import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServerApp, type JarvisServerApp } from '../../src/server/index.js';
import { tinyPng } from '../support/test-backend.js';
import {
  answerWhen,
  fixture,
  isPlanning,
  lastMessage,
  NER_SENTENCE,
  planWhen,
  readEventStream,
  type Setup,
  scriptFindPeople,
  setup,
  UPLOAD_PATH,
} from './support.js';

let env: Setup;
let server: JarvisServerApp;

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** POSTs an OpenAI chat completion; the model is `jarvis` unless the body names another. */
async function chatCompletion(
  body: { messages: unknown[]; model?: string; stream?: boolean },
  app: JarvisServerApp['app'] = server.app,
): Promise<Response> {
  return app.request('/v1/chat/completions', json({ model: 'jarvis', ...body }));
}

async function upload(bytes: Uint8Array, name: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  return server.app.request('/v1/uploads', { method: 'POST', body: form });
}

before(async () => {
  env = await setup();
  scriptFindPeople(env.llm);
  planWhen(env.llm, 'What is in this picture', (request) => [
    {
      id: 0,
      task: 'object-detection',
      dep: [-1],
      args: { image: UPLOAD_PATH.exec(request)?.[0] ?? 'missing.png' },
    },
    { id: 1, task: 'image-to-text', dep: [0], args: { image: '<GENERATED>-0' } },
  ]);
  answerWhen(env.llm, 'What is in this picture', {
    content: 'A picture with boxes around one zebra.',
    chunkDelayMs: 5,
  });
  const config = env.config();
  server = await createServerApp({ config, jarvis: await env.jarvis(config) });
});

after(async () => {
  await server?.close();
  await env?.llm.close();
});

describe('POST /v1/chat/completions', () => {
  test('answers in the OpenAI format with the run id, plan and task results beside the answer', async () => {
    const response = await chatCompletion({
      messages: [{ role: 'user', content: `Find the people: ${NER_SENTENCE}` }],
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      object: string;
      model: string;
      choices: { message: { role: string; content: string }; finish_reason: string }[];
      jarvis: { run_id: string; plan: { task: string }[]; tasks: { status: string; result: unknown }[] };
    };
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.model, 'jarvis');
    assert.equal(body.choices[0]?.message.content, 'The people are Ada Lovelace and Charles Babbage.');
    assert.equal(body.choices[0]?.finish_reason, 'stop');
    assert.equal(response.headers.get('x-jarvis-run-id'), body.jarvis.run_id);
    assert.deepEqual(
      body.jarvis.plan.map((task) => task.task),
      ['token-classification'],
    );
    assert.equal(body.jarvis.tasks[0]?.status, 'succeeded');
    assert.match(JSON.stringify(body.jarvis.tasks[0]?.result), /Charles Babbage/);

    const run = (await (await server.app.request(`/v1/runs/${body.jarvis.run_id}`)).json()) as {
      status: string;
      answer: string;
    };
    assert.equal(run.status, 'succeeded');
    assert.equal(run.answer, 'The people are Ada Lovelace and Charles Babbage.');
  });

  test('a client resending the history continues the same stored conversation', async () => {
    const first = `Find the people: ${NER_SENTENCE}`;
    const history = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: first },
    ];
    const one = await chatCompletion({ messages: history });
    const answer = ((await one.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message
      .content;
    const two = await chatCompletion({
      messages: [
        ...history,
        { role: 'assistant', content: answer },
        { role: 'user', content: `Find the people again: ${NER_SENTENCE}` },
      ],
    });
    assert.equal(two.status, 200);
    const conversationId = one.headers.get('x-jarvis-conversation-id');
    assert.ok(conversationId);
    assert.equal(two.headers.get('x-jarvis-conversation-id'), conversationId);
    const stored = (await (await server.app.request(`/v1/conversations/${conversationId}`)).json()) as {
      messages: { role: string }[];
    };
    assert.deepEqual(
      stored.messages.map((message) => message.role),
      ['user', 'assistant', 'user', 'assistant'],
    );
  });

  test('an image sent inline as a data URL is uploaded and handed to the plan', async () => {
    const dataUrl = `data:image/jpeg;base64,${readFileSync(fixture('images', 'b.jpg')).toString('base64')}`;
    const response = await chatCompletion({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: dataUrl } },
          ],
        },
      ],
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      jarvis: { tasks: { args: Record<string, string>; status: string }[] };
    };
    // An inline image has no name of its own: it goes by a readable one, never by a server path.
    assert.equal(body.jarvis.tasks[0]?.args.image, 'image-1.jpg');
    assert.equal(body.jarvis.tasks[0]?.status, 'succeeded');
  });

  test('a streamed completion whose run fails ends with an error object, then [DONE]', async () => {
    planWhen(env.llm, 'Streaming will break', () => ({ status: 500, body: '{"error":{"message":"boom"}}' }));
    const response = await chatCompletion({
      stream: true,
      messages: [{ role: 'user', content: 'Streaming will break' }],
    });
    const events = await readEventStream(response);
    assert.equal(events.at(-1)?.data, '[DONE]');
    const error = JSON.parse(events.at(-2)!.data) as { error: { code: string; message: string } };
    assert.equal(error.error.code, 'llm');
    assert.ok(error.error.message.length > 0);
  });

  test('a user message with no text and no attachment is refused with 400 and says what to send', async () => {
    for (const content of [null, '', '   ']) {
      const response = await chatCompletion({ messages: [{ role: 'user', content }] });
      assert.equal(response.status, 400, `content ${JSON.stringify(content)}`);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'empty_message');
      assert.match(body.error.message, /empty/);
    }
  });

  test('names the one model it offers and refuses others', async () => {
    const models = (await (await server.app.request('/v1/models')).json()) as { data: { id: string }[] };
    assert.deepEqual(
      models.data.map((model) => model.id),
      ['jarvis'],
    );
    const response = await chatCompletion({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: { message: string } }).error.message, /"jarvis"/);
  });
});

describe('run API', () => {
  test('an uploaded image flows through the plan; events stream live and the artifact is served', async () => {
    const uploaded = await upload(readFileSync(fixture('images', 'b.jpg')), 'zebra.jpg');
    assert.equal(uploaded.status, 201);
    const [file] = ((await uploaded.json()) as { uploads: { id: string; kind: string; mimeType: string }[] })
      .uploads;
    assert.equal(file?.kind, 'image');
    assert.equal(file?.mimeType, 'image/jpeg');

    const started = await server.app.request(
      '/v1/runs',
      json({ request: 'What is in this picture?', files: [file!.id] }),
    );
    assert.equal(started.status, 202);
    const { id, conversationId, eventsUrl } = (await started.json()) as {
      id: string;
      conversationId: string;
      eventsUrl: string;
    };
    const events = await readEventStream(await server.app.request(eventsUrl));
    const names = events.map((event) => event.event);
    for (const expected of [
      'run-start',
      'plan-done',
      'select-done',
      'task-start',
      'task-end',
      'response-delta',
      'response-done',
      'run-end',
      'end',
    ]) {
      assert.ok(names.includes(expected), `missing ${expected} in ${names.join(', ')}`);
    }
    assert.deepEqual(JSON.parse(events.at(-1)!.data), { runId: id, status: 'succeeded' });
    const detection = events
      .filter((event) => event.event === 'task-end')
      .map(
        (event) =>
          JSON.parse(event.data) as {
            result: {
              id: number;
              args: { image: string };
              output: { artifacts: { url: string; mimeType: string }[] };
            };
          },
      )
      .find((event) => event.result.id === 0)!;
    // The planner saw the uploaded file by its path, and the expert got that file.
    assert.equal(detection.result.args.image, 'zebra.jpg');
    const artifact = detection.result.output.artifacts[0]!;
    assert.match(artifact.url, new RegExp(`^/v1/runs/${id}/files/`));
    const served = await server.app.request(artifact.url);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.deepEqual(
      Buffer.from(await served.arrayBuffer())
        .subarray(1, 4)
        .toString(),
      'PNG',
    );

    const conversation = (await (await server.app.request(`/v1/conversations/${conversationId}`)).json()) as {
      messages: { role: string; content: string; files: { name: string; url: string }[] }[];
      runs: { id: string; status: string; tasks: { status: string }[] }[];
    };
    assert.deepEqual(
      conversation.messages.map((message) => message.role),
      ['user', 'assistant'],
    );
    assert.equal(conversation.messages[0]?.content, 'What is in this picture?');
    assert.equal(conversation.messages[0]?.files[0]?.name, 'zebra.jpg');
    assert.equal(conversation.messages[1]?.content, 'A picture with boxes around one zebra.');
    assert.deepEqual(
      conversation.runs[0]?.tasks.map((task) => task.status),
      ['succeeded', 'succeeded'],
    );
  });

  test('a client that reconnects with Last-Event-ID gets only the events it missed', async () => {
    const started = (await (
      await server.app.request('/v1/runs', json({ request: `Find the people: ${NER_SENTENCE}` }))
    ).json()) as { id: string };
    const all = await readEventStream(await server.app.request(`/v1/runs/${started.id}/events`));
    const resumed = await readEventStream(
      await server.app.request(`/v1/runs/${started.id}/events`, { headers: { 'last-event-id': '2' } }),
    );
    const ids = resumed.filter((event) => event.id !== undefined).map((event) => Number(event.id));
    assert.ok(ids.length > 0);
    assert.ok(
      ids.every((id) => id > 2),
      `resumed ids: ${ids.join(', ')}`,
    );
    assert.equal(resumed.at(-1)?.event, 'end');
    assert.ok(all.length > resumed.length);
  });

  test('a failing LLM ends the stream with an error event and a failed run', async () => {
    planWhen(env.llm, 'Planning will break', () => ({ status: 500, body: '{"error":{"message":"boom"}}' }));
    const started = await server.app.request('/v1/runs', json({ request: 'Planning will break' }));
    const { eventsUrl, id } = (await started.json()) as { eventsUrl: string; id: string };
    const events = await readEventStream(await server.app.request(eventsUrl));
    const error = events.find((event) => event.event === 'error');
    assert.ok(error, `no error event in ${events.map((event) => event.event).join(', ')}`);
    assert.equal((JSON.parse(error.data) as { type: string }).type, 'run-error');
    assert.deepEqual(JSON.parse(events.at(-1)!.data), { runId: id, status: 'failed' });
  });

  test('a run whose tasks all failed is reported as failed, with the first task error', async () => {
    const started = await server.app.request(
      '/v1/runs',
      json({
        request: 'Detect things in a missing picture',
        plan: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'missing.png' } }],
        select: 'top',
        answer: false,
      }),
    );
    const { id, eventsUrl } = (await started.json()) as { id: string; eventsUrl: string };
    const events = await readEventStream(await server.app.request(eventsUrl));
    assert.deepEqual(JSON.parse(events.at(-1)!.data), { runId: id, status: 'failed' });
    const run = (await (await server.app.request(`/v1/runs/${id}`)).json()) as {
      status: string;
      error: { code: string; message: string };
    };
    assert.equal(run.status, 'failed');
    assert.equal(run.error.code, 'tasks-failed');
    assert.match(run.error.message, /missing\.png/);
  });

  test('a run where only some tasks failed succeeds, and its tasks say which failed', async () => {
    const started = await server.app.request(
      '/v1/runs',
      json({
        request: 'Find the people, and detect things in a missing picture',
        plan: [
          { id: 0, task: 'token-classification', dep: [-1], args: { text: NER_SENTENCE } },
          { id: 1, task: 'object-detection', dep: [-1], args: { image: 'missing.png' } },
        ],
        select: 'top',
        answer: false,
      }),
    );
    const { id, eventsUrl } = (await started.json()) as { id: string; eventsUrl: string };
    await readEventStream(await server.app.request(eventsUrl));
    const run = (await (await server.app.request(`/v1/runs/${id}`)).json()) as {
      status: string;
      tasks: { status: string }[];
    };
    assert.equal(run.status, 'succeeded');
    assert.deepEqual(
      run.tasks.map((task) => task.status),
      ['succeeded', 'failed'],
    );
  });

  test('cancelling a running run stops it and records it as cancelled', async () => {
    planWhen(env.llm, 'Take your time', () => ({ content: '[]', delayMs: 8_000 }));
    const started = await server.app.request('/v1/runs', json({ request: 'Take your time' }));
    const { id } = (await started.json()) as { id: string };
    const cancelled = await server.app.request(`/v1/runs/${id}/cancel`, { method: 'POST' });
    assert.equal(cancelled.status, 200);
    assert.deepEqual(await cancelled.json(), { id, status: 'cancelled' });
    const run = (await (await server.app.request(`/v1/runs/${id}`)).json()) as {
      status: string;
      error: { code: string };
    };
    assert.equal(run.status, 'cancelled');
    assert.equal(run.error.code, 'cancelled');
    const again = await server.app.request(`/v1/runs/${id}/cancel`, { method: 'POST' });
    assert.equal(again.status, 409);
  });

  test('the second turn of a conversation is planned with the first turn in its history', async () => {
    planWhen(env.llm, 'And the mood?', () => [
      { id: 0, task: 'text-classification', dep: [-1], args: { text: NER_SENTENCE } },
    ]);
    answerWhen(env.llm, 'And the mood?', 'Neutral.');
    const first = (await (
      await server.app.request('/v1/runs', json({ request: `Find the people: ${NER_SENTENCE}` }))
    ).json()) as { id: string; conversationId: string };
    await readEventStream(await server.app.request(`/v1/runs/${first.id}/events`));
    const second = (await (
      await server.app.request(
        '/v1/runs',
        json({ request: 'And the mood?', conversationId: first.conversationId }),
      )
    ).json()) as { id: string; conversationId: string };
    assert.equal(second.conversationId, first.conversationId);
    await readEventStream(await server.app.request(`/v1/runs/${second.id}/events`));
    const planCall = env.llm.requests
      .filter(isPlanning)
      .findLast((request) => lastMessage(request).includes('And the mood?'));
    assert.ok(planCall);
    assert.match(JSON.stringify(planCall.messages), /Ada Lovelace and Charles Babbage/);
  });
});

describe('what a plan may read', () => {
  type RunBody = {
    id: string;
    conversationId: string;
    status: string;
    tasks: {
      status: string;
      result: { error: { code: string; message: string } | null; output: { artifacts?: { path: string }[] } };
    }[];
  };
  /** Runs `plan` as given (no LLM), waits for the end, and returns the run as the API shows it. */
  async function runPlan(body: Record<string, unknown>): Promise<RunBody> {
    const started = await server.app.request(
      '/v1/runs',
      json({ select: 'top', answer: false, request: 'Use these files', ...body }),
    );
    assert.equal(started.status, 202);
    const { id } = (await started.json()) as { id: string };
    await readEventStream(await server.app.request(`/v1/runs/${id}/events`));
    return (await (await server.app.request(`/v1/runs/${id}`)).json()) as RunBody;
  }
  const detect = (id: number, image: string) => ({
    id,
    task: 'object-detection',
    dep: [-1],
    args: { image },
  });

  test('uploads go by the names people gave them (made unique), and no reply carries a server path', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('images', 'b.jpg')));
    const ids: string[] = [];
    for (const name of ['kite.jpg', 'kite.jpg']) {
      const body = (await (await upload(bytes, name)).json()) as { uploads: { id: string }[] };
      ids.push(body.uploads[0]!.id);
    }
    const first = await runPlan({ files: [ids[0]], plan: [detect(0, 'kite.jpg')] });
    const second = await runPlan({
      conversationId: first.conversationId,
      files: [ids[1]],
      plan: [detect(0, 'kite.jpg'), detect(1, 'kite (2).jpg'), detect(2, 'kitee.jpg')],
    });
    const view = (await (await server.app.request(`/v1/runs/${second.id}`)).json()) as {
      request: string;
      tasks: {
        status: string;
        args: Record<string, string>;
        result: { error: { message: string } | null };
      }[];
    };
    assert.match(view.request, /Attached files:\n- image: kite \(2\)\.jpg$/);
    assert.deepEqual(
      view.tasks.map((task) => [task.args.image, task.status]),
      [
        ['kite.jpg', 'succeeded'],
        ['kite (2).jpg', 'succeeded'],
        ['kitee.jpg', 'failed'],
      ],
    );
    assert.match(view.tasks[2]!.result.error!.message, /did you mean "kite\.jpg"/);
    const everything = JSON.stringify(view);
    assert.ok(!everything.includes(resolve(env.dataDir)), `a server path in ${everything}`);
  });

  test("a conversation's later turn reads its own uploads and results; another conversation, the database and other uploads are refused", async () => {
    const uploaded = (await (
      await upload(new Uint8Array(readFileSync(fixture('images', 'b.jpg'))), 'zebra.jpg')
    ).json()) as { uploads: { id: string }[] };
    const uploadId = uploaded.uploads[0]!.id;
    const stored = await server.context.store.getUpload(uploadId);
    // The run sees the upload by the name the user gave it; its stored path is not how a plan reaches it.
    const uploadPath = 'zebra.jpg';
    const storedPath = relative(env.dataDir, stored!.path);

    const first = await runPlan({ files: [uploadId], plan: [detect(0, uploadPath)] });
    assert.equal(first.status, 'succeeded');
    // The API names the file by its path under the data folder, never by the server's absolute path.
    const produced = first.tasks[0]!.result.output.artifacts![0]!.path;
    assert.match(produced, /^runs\//);

    const later = await runPlan({
      conversationId: first.conversationId,
      plan: [detect(0, uploadPath), detect(1, produced)],
    });
    assert.deepEqual(
      later.tasks.map((task) => task.status),
      ['succeeded', 'succeeded'],
      'the earlier upload and the earlier result of the same conversation',
    );

    const database = join(env.dataDir, 'jarvis.db');
    const other = await runPlan({
      plan: [
        detect(0, uploadPath),
        detect(1, produced),
        detect(2, 'jarvis.db'),
        detect(3, '../../jarvis.db'),
        detect(4, database),
        detect(5, stored!.path),
        detect(6, storedPath),
      ],
    });
    assert.notEqual(other.conversationId, first.conversationId);
    for (const [index, task] of other.tasks.entries()) {
      assert.equal(task.status, 'failed', `task ${index} read a file it must not`);
      assert.equal(task.result.error?.code, 'input', `task ${index}: ${task.result.error?.message}`);
    }
    assert.match(other.tasks[4]!.result.error!.message, /refused/);
  });
});

describe('uploads and files', () => {
  test('the type comes from the content: a text file named .jpg is refused', async () => {
    const response = await upload(new TextEncoder().encode('#!/bin/sh\necho hi\n'), 'photo.jpg');
    assert.equal(response.status, 415);
    assert.equal(
      ((await response.json()) as { error: { code: string } }).error.code,
      'unsupported_file_type',
    );
  });

  test('a PNG named .txt is stored and served as a PNG', async () => {
    const response = await upload(tinyPng(10, 20, 30), 'notes.txt');
    assert.equal(response.status, 201);
    const [file] = ((await response.json()) as { uploads: { url: string; mimeType: string }[] }).uploads;
    assert.equal(file?.mimeType, 'image/png');
    const served = await server.app.request(file!.url);
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.equal(served.headers.get('x-content-type-options'), 'nosniff');
  });

  test('nothing outside a run folder is served, neither by .. nor through a planted link', async () => {
    const started = (await (
      await server.app.request('/v1/runs', json({ request: `Find the people: ${NER_SENTENCE}` }))
    ).json()) as { id: string };
    await readEventStream(await server.app.request(`/v1/runs/${started.id}/events`));
    const runDir = join(env.dataDir, 'runs', started.id);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'ok.txt'), 'fine');
    symlinkSync(join(env.dataDir, 'jarvis.db'), join(runDir, 'link.png'));
    const ok = await server.app.request(`/v1/runs/${started.id}/files/ok.txt`);
    assert.equal(ok.status, 200);
    for (const path of [
      `/v1/runs/${started.id}/files/..%2F..%2Fjarvis.db`,
      `/v1/runs/${started.id}/files/../../jarvis.db`,
      `/v1/runs/${started.id}/files/link.png`,
      '/v1/runs/..%2F..%2F/files/jarvis.db',
    ]) {
      const response = await server.app.request(path);
      assert.notEqual(response.status, 200, path);
    }
  });
});

describe('deleting a conversation', () => {
  test('removes its records, its generated files and the uploads no other conversation uses', async () => {
    const bytes = readFileSync(fixture('images', 'b.jpg'));
    const [mine, shared] = await Promise.all([upload(bytes, 'mine.jpg'), upload(bytes, 'shared.jpg')]);
    const mineId = ((await mine.json()) as { uploads: { id: string }[] }).uploads[0]!.id;
    const sharedId = ((await shared.json()) as { uploads: { id: string }[] }).uploads[0]!.id;
    const started = (await (
      await server.app.request(
        '/v1/runs',
        json({ request: 'What is in this picture?', files: [mineId, sharedId] }),
      )
    ).json()) as { id: string; conversationId: string };
    await readEventStream(await server.app.request(`/v1/runs/${started.id}/events`));
    const other = (await (
      await server.app.request('/v1/runs', json({ request: 'What is in this picture?', files: [sharedId] }))
    ).json()) as { id: string };
    await readEventStream(await server.app.request(`/v1/runs/${other.id}/events`));
    const runDir = join(env.dataDir, 'runs', started.id);
    assert.equal(existsSync(runDir), true);
    const minePath = (await server.context.store.getUpload(mineId))!.path;

    const deleted = await server.app.request(`/v1/conversations/${started.conversationId}`, {
      method: 'DELETE',
    });
    assert.equal(deleted.status, 204);
    assert.equal((await server.app.request(`/v1/conversations/${started.conversationId}`)).status, 404);
    assert.equal((await server.app.request(`/v1/runs/${started.id}`)).status, 404);
    assert.equal(existsSync(runDir), false, 'the run folder is gone');
    assert.equal(existsSync(minePath), false, 'the upload only it used is gone');
    assert.equal((await server.app.request(`/v1/uploads/${mineId}`)).status, 404);
    assert.equal(
      (await server.app.request(`/v1/uploads/${sharedId}/content`)).status,
      200,
      'a shared upload stays',
    );
    assert.equal(existsSync(join(env.dataDir, 'runs', other.id)), true);
  });
});

describe('HuggingGPT endpoints', () => {
  test('/tasks returns the plan, /results the results by task id, /hugginggpt the message', async () => {
    const messages = [{ role: 'user', content: `Find the people: ${NER_SENTENCE}` }];
    const tasks = await server.app.request('/tasks', json({ messages }));
    assert.equal(tasks.status, 200);
    assert.deepEqual(await tasks.json(), [
      { id: 0, task: 'token-classification', dep: [-1], args: { text: NER_SENTENCE } },
    ]);

    const results = (await (await server.app.request('/results', json({ messages }))).json()) as Record<
      string,
      {
        task: { task: string };
        'inference result': Record<string, unknown>;
        'choose model result': { id: string; reason: string };
      }
    >;
    assert.deepEqual(Object.keys(results), ['0']);
    assert.equal(results['0']?.task.task, 'token-classification');
    assert.match(JSON.stringify(results['0']?.['inference result']), /Ada Lovelace/);
    assert.ok(results['0']?.['choose model result'].id);

    const chat = await server.app.request('/hugginggpt', json({ messages }));
    assert.deepEqual(await chat.json(), { message: 'The people are Ada Lovelace and Charles Babbage.' });
  });

  test('/tasks chats instead when no tool is needed, as HuggingGPT does', async () => {
    planWhen(env.llm, 'Tell me a joke', () => []);
    answerWhen(env.llm, 'Tell me a joke', 'Why did the zebra cross the savanna?');
    const response = await server.app.request(
      '/tasks',
      json({ messages: [{ role: 'user', content: 'Tell me a joke' }] }),
    );
    assert.deepEqual(await response.json(), { message: 'Why did the zebra cross the savanna?' });
  });
});

describe('settings', () => {
  test('the LLM and inference mode can be changed; the key is never shown and is dropped with its endpoint', async () => {
    const config = env.config({ dataDir: join(env.dataDir, 'settings') });
    let built = 0;
    const own = await createServerApp({
      config,
      createJarvis: (next) => {
        built += 1;
        return env.jarvis(next);
      },
    });
    try {
      const before = (await (await own.app.request('/v1/settings')).json()) as {
        llm: { baseURL: string; model: string; apiKeySet: boolean };
        inference: { mode: string };
      };
      assert.equal(before.llm.baseURL, env.llm.baseURL);
      assert.equal(before.llm.apiKeySet, true);
      assert.equal(JSON.stringify(before).includes('sk-test-0000'), false);

      const put = (body: unknown) => own.app.request('/v1/settings', { ...json(body), method: 'PUT' });
      const changed = (await (
        await put({ llm: { model: 'other-model' }, inference: { mode: 'local' } })
      ).json()) as {
        llm: { model: string; apiKeySet: boolean };
        inference: { mode: string };
      };
      assert.equal(changed.llm.model, 'other-model');
      assert.equal(changed.inference.mode, 'local');
      assert.equal(changed.llm.apiKeySet, true);
      assert.equal(own.context.jarvis().config.llm.model, 'other-model', 'new runs use the new settings');

      const moved = (await (await put({ llm: { baseURL: 'http://127.0.0.1:9/v1' } })).json()) as {
        llm: { apiKeySet: boolean };
      };
      assert.equal(moved.llm.apiKeySet, false, 'the key does not follow the endpoint');
      assert.equal((await put({ llm: { baseURL: 'file:///etc/passwd' } })).status, 400);
      assert.ok(built >= 3);
    } finally {
      await own.close();
    }
    const reopened = await createServerApp({ config, createJarvis: (next) => env.jarvis(next) });
    try {
      const after = (await (await reopened.app.request('/v1/settings')).json()) as {
        llm: { model: string; baseURL: string };
        inference: { mode: string };
      };
      assert.deepEqual(
        [after.llm.model, after.llm.baseURL, after.inference.mode],
        ['other-model', 'http://127.0.0.1:9/v1', 'local'],
      );
    } finally {
      await reopened.close();
    }
  });
});

describe('settings and the environment', () => {
  type SettingsBody = {
    llm: { baseURL: string | null; model: string; apiKeySet: boolean };
    inference: { mode: string };
    locked: string[];
  };
  const getSettings = async (app: JarvisServerApp) =>
    (await (await app.app.request('/v1/settings')).json()) as SettingsBody;
  const putSettings = (app: JarvisServerApp, body: unknown) =>
    app.app.request('/v1/settings', { ...json(body), method: 'PUT' });

  test('after a restart, a model set by the environment or flags wins over the one saved in Settings', async () => {
    const dataDir = join(env.dataDir, 'settings-vs-env');
    const open = (layer: Parameters<Setup['config']>[0], explicit?: Parameters<Setup['config']>[0]) =>
      createServerApp({
        config: env.config({ dataDir, ...layer }),
        createJarvis: (next) => env.jarvis(next),
        ...(explicit ? { explicit } : {}),
      });

    const first = await open({});
    try {
      assert.equal((await putSettings(first, { llm: { model: 'uimodel' } })).status, 200);
    } finally {
      await first.close();
    }

    const pinned = await open({ llm: { model: 'envmodel' } }, { llm: { model: 'envmodel' } });
    try {
      const view = await getSettings(pinned);
      assert.equal(view.llm.model, 'envmodel');
      assert.deepEqual(view.locked, ['llm.model']);
      assert.equal(pinned.context.jarvis().config.llm.model, 'envmodel', 'runs use it too');
      const refused = await putSettings(pinned, { llm: { model: 'other' } });
      assert.equal(refused.status, 409);
      const body = (await refused.json()) as { error: { message: string } };
      assert.match(body.error.message, /llm\.model is set by the server's environment or command-line flags/);
      assert.match(body.error.message, /JARVIS_LLM_MODEL \/ --model/);
      // Fields the environment leaves alone can still be changed.
      const mode = (await (
        await putSettings(pinned, { inference: { mode: 'local' } })
      ).json()) as SettingsBody;
      assert.equal(mode.inference.mode, 'local');
      assert.equal(mode.llm.model, 'envmodel');
    } finally {
      await pinned.close();
    }

    // Without the environment variable, the saved choice is back.
    const unpinned = await open({});
    try {
      const view = await getSettings(unpinned);
      assert.equal(view.llm.model, 'uimodel');
      assert.deepEqual(view.locked, []);
    } finally {
      await unpinned.close();
    }
  });

  test('an LLM key from the environment is never sent to an endpoint saved in Settings', async () => {
    const dataDir = join(env.dataDir, 'settings-key');
    const first = await createServerApp({
      config: env.config({ dataDir }),
      createJarvis: (next) => env.jarvis(next),
    });
    try {
      await putSettings(first, { llm: { baseURL: 'http://127.0.0.1:9/v1', apiKey: 'sk-saved-0000' } });
    } finally {
      await first.close();
    }
    const config = env.config({ dataDir, llm: { apiKey: 'sk-env-00000' } });
    const restarted = await createServerApp({
      config,
      createJarvis: (next) => env.jarvis(next),
      explicit: { llm: { apiKey: 'sk-env-00000' } },
    });
    try {
      const view = await getSettings(restarted);
      assert.equal(view.llm.baseURL, env.llm.baseURL, 'the configured endpoint, not the saved one');
      assert.deepEqual(view.locked, ['llm.baseURL', 'llm.apiKey']);
      assert.equal(restarted.context.jarvis().config.llm.apiKey, 'sk-env-00000');
      assert.equal((await putSettings(restarted, { llm: { baseURL: 'http://127.0.0.1:9/v1' } })).status, 409);
    } finally {
      await restarted.close();
    }
  });
});

describe('database location', () => {
  test('server.database puts the SQLite file where it says', async () => {
    const database = join(env.dataDir, 'elsewhere', 'conversations.sqlite');
    const config = env.config({ dataDir: join(env.dataDir, 'db-path'), server: { database } });
    const own = await createServerApp({ config, jarvis: await env.jarvis(config) });
    try {
      await own.app.request('/v1/conversations', json({ title: 'kept here' }));
      assert.equal(own.context.store.path, database);
      assert.equal(existsSync(database), true);
      assert.equal(existsSync(join(env.dataDir, 'db-path', 'jarvis.db')), false);
    } finally {
      await own.close();
    }
  });
});

describe('without a configured LLM', () => {
  test('a chat completion says in its error what to configure on the server, not command-line flags', async () => {
    const config = env.config({ dataDir: join(env.dataDir, 'no-llm') });
    delete config.llm.baseURL;
    // Else the server would download the default local model on this first request.
    config.llm.autoDownload = false;
    const own = await createServerApp({ config, jarvis: await env.jarvis(config) });
    try {
      const response = await chatCompletion({ messages: [{ role: 'user', content: 'hello' }] }, own.app);
      assert.equal(response.status, 503);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'config');
      assert.match(body.error.message, /Settings/);
      assert.match(body.error.message, /JARVIS_LLM_BASE_URL/);
      assert.match(body.error.message, /"select": "top" and "answer": false to POST \/v1\/runs/);
      assert.doesNotMatch(body.error.message, /--no-answer|--plan/, 'no command-line flags over HTTP');
    } finally {
      await own.close();
    }
  });
});

describe('request limits', () => {
  test('an upload over server.maxUploadBytes is refused with 413', async () => {
    const config = env.config({ dataDir: join(env.dataDir, 'small'), server: { maxUploadBytes: 2048 } });
    const own = await createServerApp({ config, jarvis: await env.jarvis(config) });
    try {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(readFileSync(fixture('images', 'b.jpg')))]), 'big.jpg');
      const response = await own.app.request('/v1/uploads', { method: 'POST', body: form });
      assert.equal(response.status, 413);
      assert.match(((await response.json()) as { error: { message: string } }).error.message, /limit/);
    } finally {
      await own.close();
    }
  });

  test('a JSON body over 1 MiB is refused with 413', async () => {
    const response = await server.app.request('/v1/runs', json({ request: 'x'.repeat(1_100_000) }));
    assert.equal(response.status, 413);
  });

  test('a chat completion may carry an inline image larger than 1 MiB of base64, but not over 1 MiB of text', async () => {
    const png = readFileSync(fixture('images', 'astronaut.png'));
    const dataUrl = `data:image/png;base64,${png.toString('base64')}`;
    assert.ok(dataUrl.length > 1024 * 1024, 'the image alone is over the 1 MiB JSON limit');
    const withImage = await chatCompletion({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: dataUrl } },
          ],
        },
      ],
    });
    assert.equal(withImage.status, 200);

    const longText = await chatCompletion({
      messages: [
        { role: 'user', content: 'x'.repeat(600_000) },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'y'.repeat(600_000) }] },
      ],
    });
    assert.equal(longText.status, 413);
    const body = (await longText.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'messages_too_long');
    assert.match(body.error.message, /1 MiB/);
  });

  test('a body that is not JSON is refused with 415', async () => {
    const response = await server.app.request('/v1/runs', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"request":"hi"}',
    });
    assert.equal(response.status, 415);
  });
});
