import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { RunEvent, TaskResult } from '../../src/core/events.js';
import { JOB_FORMAT_VERSION, queueNameFor } from '../../src/queue/job.js';
import { fixture } from '../support/fixtures.js';
import { type QueueSetup, setupQueue, upload } from './support.js';

const taskEnds = (events: RunEvent[]) =>
  events.filter((event): event is Extract<RunEvent, { type: 'task-end' }> => event.type === 'task-end');
const progressOf = (events: RunEvent[]) =>
  events.flatMap((event) => (event.type === 'task-progress' ? [event.message] : []));
const detection = (image: string) => [{ id: 0, task: 'object-detection', dep: [-1], args: { image } }];

function succeeded(result: TaskResult | undefined): Extract<TaskResult, { status: 'succeeded' }> {
  assert.ok(result, 'no task-end event');
  assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
  return result as Extract<TaskResult, { status: 'succeeded' }>;
}

describe('scale-out over BullMQ and Redis', () => {
  let queue: QueueSetup;
  before(async () => {
    queue = await setupQueue();
  });
  after(async () => {
    await queue?.close();
  });

  test('a task runs on a worker process and the file it generates lands in the run folder', async () => {
    const worker = await queue.startWorker({ id: 'gpu-box-1', latencyMs: 50 });
    try {
      const workers = (await (await fetch(`${queue.server.url}/v1/workers`)).json()) as {
        queue: boolean;
        data: { id: string; models: { id: string; task: string }[] }[];
      };
      assert.equal(workers.queue, true);
      assert.deepEqual(
        workers.data.map((entry) => entry.id),
        ['gpu-box-1'],
      );
      assert.ok(workers.data[0]!.models.some((model) => model.task === 'object-detection'));

      const id = await upload(queue.server, readFileSync(fixture('images', 'a.jpg')), 'a.jpg');
      const runId = await queue.startRun(detection('a.jpg'), [id]);
      const events = await queue.events(runId);
      const result = succeeded(taskEnds(events)[0]?.result);
      assert.match(result.output.text ?? '', /object-detection by vision-model/);
      assert.equal(queue.local.calls.length, 0, 'the server ran the task itself');
      assert.ok(progressOf(events).some((message) => message.includes('started on worker gpu-box-1')));
      const artifact = result.output.artifacts?.[0];
      assert.ok(artifact, 'no artifact came back');
      assert.equal(artifact.mimeType, 'image/png');
      assert.match(artifact.path, new RegExp(`runs/${runId}/0-object-detection\\.png$`));
      // The worker got the very bytes of the upload.
      assert.match(worker.log(), /finished object-detection vision:vision-model/);
    } finally {
      await worker.kill('SIGTERM');
    }
  });

  test('without a live worker for the model, the server runs the task itself', async () => {
    const before = queue.local.calls.length;
    const runId = await queue.startRun([
      { id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'no worker is up' } },
    ]);
    succeeded(taskEnds(await queue.events(runId))[0]?.result);
    assert.equal(queue.local.calls.length, before + 1);
  });

  test('kill -9 of the worker mid-task: another worker finishes it and the run says it was retried', async () => {
    const doomed = await queue.startWorker({ id: 'doomed', latencyMs: 4000 });
    const runId = await queue.startRun([
      { id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'say it once' } },
    ]);
    await doomed.waitFor(/started text-to-speech/);
    const rescuer = await queue.startWorker({ id: 'rescuer', latencyMs: 100 });
    await doomed.kill('SIGKILL');
    try {
      const events = await queue.events(runId);
      const result = succeeded(taskEnds(events)[0]?.result);
      assert.match(result.output.text ?? '', /text-to-speech by vision-model/);
      assert.ok(
        progressOf(events).some((message) => /retried/.test(message)),
        `no retry in ${progressOf(events).join(' | ')}`,
      );
      assert.match(rescuer.log(), /finished text-to-speech/);
      assert.equal(result.output.artifacts?.length, 1, 'the audio file appears once');
    } finally {
      await rescuer.kill('SIGTERM');
    }
  });

  test('bad jobs are refused with a clear reason and the worker keeps working', async () => {
    const worker = await queue.startWorker({ id: 'strict', latencyMs: 10 });
    const name = queueNameFor('vision', 'vision-model');
    const raw = new Queue(name, { connection: { url: queue.redis.url }, prefix: 'jarvis' });
    try {
      const good = {
        v: JOB_FORMAT_VERSION,
        backend: 'vision',
        modelId: 'vision-model',
        task: 'text-to-speech',
        inputs: { text: 'hello' },
        uploadToken: 'x'.repeat(32),
        timeoutMs: 5000,
      };
      const cases: Array<[unknown, RegExp]> = [
        [{ ...good, v: 99 }, /job format version 99 is not the version this worker speaks \(1\)/],
        [{ ...good, modelId: 'other-model' }, /reached the queue of vision:vision-model/],
        [{ ...good, inputs: { text: 'x'.repeat(1_100_000) } }, /over the limit/],
        [{ ...good, timeoutMs: 'soon' }, /malformed job: timeoutMs/],
      ];
      for (const [data, reason] of cases) {
        const job = await raw.add('bad', data, { attempts: 1 });
        for (let i = 0; i < 100 && !(await job.isFailed()); i++) await new Promise((r) => setTimeout(r, 50));
        const failed = await raw.getJob(job.id!);
        assert.match(failed?.failedReason ?? '(not failed)', reason);
      }
      assert.equal(worker.child.exitCode, null, 'the worker crashed');
      // Still at work: a real run goes through it.
      const runId = await queue.startRun([
        { id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'still here' } },
      ]);
      succeeded(taskEnds(await queue.events(runId))[0]?.result);
      assert.match(worker.log(), /finished text-to-speech/);
    } finally {
      await raw.close();
      await worker.kill('SIGTERM');
    }
  });
});

describe('scale-out: nothing hangs', () => {
  let queue: QueueSetup;
  before(async () => {
    queue = await setupQueue({ taskTimeoutMs: 4000 });
  });
  after(async () => {
    await queue?.close();
  });

  test('a task over its timeout fails with the timeout and its worker stops it', async () => {
    const worker = await queue.startWorker({ id: 'slowpoke', latencyMs: 60_000 });
    try {
      const runId = await queue.startRun([
        { id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'too slow' } },
      ]);
      const result = taskEnds(await queue.events(runId))[0]?.result;
      assert.equal(result?.status, 'failed');
      assert.match(result?.error?.message ?? '', /timed out after 4000 ms/);
      await worker.waitFor(/failed text-to-speech .*stopped/, 10_000);
    } finally {
      await worker.kill('SIGTERM');
    }
  });

  test('cancelling a run stops the task running on a worker', async () => {
    const worker = await queue.startWorker({ id: 'cancellable', latencyMs: 60_000 });
    try {
      const runId = await queue.startRun([
        { id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'never mind' } },
      ]);
      await worker.waitFor(/started text-to-speech/);
      const cancelled = await fetch(`${queue.server.url}/v1/runs/${runId}/cancel`, { method: 'POST' });
      assert.equal(cancelled.status, 200);
      await queue.events(runId);
      await worker.waitFor(/failed text-to-speech .*stopped/, 10_000);
      const run = (await (await fetch(`${queue.server.url}/v1/runs/${runId}`)).json()) as { status: string };
      assert.equal(run.status, 'cancelled');
    } finally {
      await worker.kill('SIGTERM');
    }
  });

  test('a worker that dies before taking the task: once its heartbeat expires the task fails with the reason, not at its timeout', async () => {
    const ghost = await queue.startWorker({ id: 'ghost-2', latencyMs: 10 });
    await ghost.kill('SIGKILL');
    const started = Date.now();
    const runId = await queue.startRun([
      { id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'anyone there?' } },
    ]);
    const result = taskEnds(await queue.events(runId))[0]?.result;
    assert.equal(result?.status, 'failed');
    assert.match(result?.error?.message ?? '', /no live worker offers vision:vision-model any more/);
    assert.ok(Date.now() - started < 4000, 'it waited for its timeout');
  });

  test('Redis restarted during a run: the server and the worker reconnect and the run finishes', async () => {
    const worker = await queue.startWorker({ id: 'steady', latencyMs: 1500, stallIntervalMs: 5000 });
    try {
      const runId = await queue.startRun([
        { id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'through a restart' } },
      ]);
      await worker.waitFor(/started text-to-speech/);
      await queue.redis.restart(300);
      const result = taskEnds(await queue.events(runId))[0]?.result;
      assert.ok(result, 'the run never ended');
      if (result.status !== 'succeeded') assert.match(result.error.message, /\w+/);
      else assert.match(result.output.text ?? '', /text-to-speech by vision-model/);
    } finally {
      await worker.kill('SIGTERM');
    }
  });
});
