import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'libsql';
import { openStore } from './index.js';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'jarvis-store-')), 'nested', 'jarvis.db');

describe('store', () => {
  test('conversations, messages, runs, events and artifacts survive closing and reopening the file', async () => {
    const path = freshPath();
    const store = await openStore(path);
    const conversation = await store.createConversation({ title: 'Zebras' });
    await store.addMessage({
      conversationId: conversation.id,
      role: 'user',
      content: 'count zebras',
      files: ['u_1'],
    });
    await store.createRun({ id: 'run_1', conversationId: conversation.id, request: 'count zebras' });
    await store.appendEvent('run_1', 0, {
      type: 'run-start',
      runId: 'run_1',
      request: 'count zebras',
      at: 1,
    });
    await store.appendEvent('run_1', 1, { type: 'plan-start', at: 2 });
    const artifact = await store.addArtifact({
      runId: 'run_1',
      taskId: 0,
      artifact: { kind: 'image', path: '/tmp/x.png', mimeType: 'image/png', label: 'boxes' },
    });
    await store.finishRun('run_1', { status: 'succeeded', answer: 'Four zebras.', result: { ok: true } });
    await store.addMessage({
      conversationId: conversation.id,
      role: 'assistant',
      content: 'Four zebras.',
      runId: 'run_1',
    });
    await store.setSetting('llm', { model: 'm' });
    await store.close();

    const reopened = await openStore(path);
    const [listed] = await reopened.listConversations();
    assert.equal(listed?.title, 'Zebras');
    const messages = await reopened.listMessages(conversation.id);
    assert.deepEqual(
      messages.map((message) => [message.role, message.content, message.files, message.runId]),
      [
        ['user', 'count zebras', ['u_1'], null],
        ['assistant', 'Four zebras.', [], 'run_1'],
      ],
    );
    const run = await reopened.getRun('run_1');
    assert.equal(run?.status, 'succeeded');
    assert.equal(run?.answer, 'Four zebras.');
    assert.deepEqual(run?.result, { ok: true });
    assert.deepEqual(
      (await reopened.listEvents('run_1')).map((stored) => stored.event.type),
      ['run-start', 'plan-start'],
    );
    assert.deepEqual(
      (await reopened.listEvents('run_1', 0)).map((stored) => stored.seq),
      [1],
    );
    assert.equal((await reopened.getArtifact(artifact.id))?.label, 'boxes');
    assert.deepEqual(await reopened.getSetting('llm'), { model: 'm' });
    await reopened.close();
  });

  test('a run left running by a stopped process is marked interrupted on the next start', async () => {
    const path = freshPath();
    const store = await openStore(path);
    await store.createRun({ id: 'run_2', request: 'x' });
    await store.close();
    const reopened = await openStore(path);
    assert.equal(await reopened.markInterruptedRuns(), 1);
    assert.equal((await reopened.getRun('run_2'))?.status, 'interrupted');
    await reopened.close();
  });

  test('deleting a conversation removes its messages, runs, events and artifact records', async () => {
    const store = await openStore(freshPath());
    const conversation = await store.createConversation({ title: 't' });
    await store.addMessage({ conversationId: conversation.id, role: 'user', content: 'hi' });
    await store.createRun({ id: 'run_3', conversationId: conversation.id, request: 'hi' });
    await store.appendEvent('run_3', 0, { type: 'plan-start', at: 1 });
    const artifact = await store.addArtifact({
      runId: 'run_3',
      taskId: null,
      artifact: { kind: 'audio', path: '/tmp/a.wav', mimeType: 'audio/wav' },
    });
    assert.equal(await store.deleteConversation(conversation.id), true);
    assert.equal(await store.getConversation(conversation.id), undefined);
    assert.deepEqual(await store.listMessages(conversation.id), []);
    assert.equal(await store.getRun('run_3'), undefined);
    assert.deepEqual(await store.listEvents('run_3'), []);
    assert.equal(await store.getArtifact(artifact.id), undefined);
    assert.equal(await store.deleteConversation(conversation.id), false);
    await store.close();
  });

  test("a conversation's attached uploads are listed oldest first, messages without files left out", async () => {
    const store = await openStore(freshPath());
    const conversation = await store.createConversation({ title: 't' });
    const say = (content: string, files?: string[]) =>
      store.addMessage({
        conversationId: conversation.id,
        role: 'user',
        content,
        ...(files ? { files } : {}),
      });
    await say('first', ['u_a', 'u_b']);
    await say('no files');
    await say('later', ['u_c']);
    assert.deepEqual(await store.listMessageFiles(conversation.id), ['u_a', 'u_b', 'u_c']);
    assert.deepEqual(await store.listMessageFiles('c_none'), []);
    await store.close();
  });

  test('the most recently active conversation is listed first', async () => {
    const store = await openStore(freshPath());
    const older = await store.createConversation({ title: 'older' });
    await store.createConversation({ title: 'newer' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.addMessage({ conversationId: older.id, role: 'user', content: 'back again' });
    assert.deepEqual(
      (await store.listConversations()).map((conversation) => conversation.title),
      ['older', 'newer'],
    );
    await store.close();
  });
});

describe('store writes', () => {
  test('writes asked for together commit together: each is on disk once it resolves, a failing one alone fails', async () => {
    const path = freshPath();
    const store = await openStore(path);
    const onDisk = new Database(path);
    try {
      const writes = [
        store.createConversation({ id: 'c_one', title: 'One' }),
        store.createConversation({ id: 'c_one', title: 'Same id again' }),
        store.createConversation({ id: 'c_two', title: 'Two' }),
      ];
      const [one, again, two] = await Promise.allSettled(writes);
      assert.equal(one?.status, 'fulfilled');
      assert.equal(again?.status, 'rejected', 'a duplicate id is refused');
      assert.equal(two?.status, 'fulfilled', 'the write after the failed one still lands');
      // Another connection to the file sees exactly the writes that resolved.
      const titles = onDisk.prepare('SELECT title FROM conversations ORDER BY id').all() as {
        title: string;
      }[];
      assert.deepEqual(
        titles.map((row) => row.title),
        ['One', 'Two'],
      );
    } finally {
      onDisk.close();
      await store.close();
    }
  });

  test('a write is read back once it resolves, and closing the store commits what is pending', async () => {
    const path = freshPath();
    const store = await openStore(path);
    await store.createConversation({ id: 'c_quick', title: 'Quick' });
    assert.equal((await store.getConversation('c_quick'))?.title, 'Quick');
    void store.createConversation({ id: 'c_last', title: 'Asked for just before closing' });
    await store.close();
    const reopened = await openStore(path);
    try {
      assert.equal((await reopened.getConversation('c_last'))?.title, 'Asked for just before closing');
    } finally {
      await reopened.close();
    }
  });
});
