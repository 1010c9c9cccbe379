import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeTinyGguf } from '../../../scripts/make-tiny-gguf.js';
import { type HfTestServer, type RecordedRequest, startHfServer } from '../../../test/support/hf-server.js';
import { loadConfig } from '../../config/load.js';
import { configSchema } from '../../config/schema.js';
import { CancelledError, ConfigError } from '../../core/errors.js';
import type { ChatRequest, ControllerModel } from '../../core/llm.js';
import { createController, requireController } from '../index.js';
import { chooseEmbeddedModel, inspectEmbeddedModel } from './from-config.js';
import { DEFAULT_LOCAL_MODEL } from './model-file.js';
import { disposeEmbeddedModels } from './runtime.js';

/**
 * The default controller: which one runs in each configuration, and the first-use download of the default
 * model from a loopback Hugging Face Hub that serves a tiny GGUF model under the default model's name, the way
 * the Hub serves LFS files (a redirect carrying the size and sha256, ranges on the storage URL).
 */

const REPO = 'unsloth/Qwen3-4B-Instruct-2507-GGUF';
const REMOTE_FILE = 'Qwen3-4B-Instruct-2507-Q4_K_M.gguf';
/** The name node-llama-cpp gives the default model in the cache. */
const CACHED_FILE = 'hf_unsloth_Qwen3-4B-Instruct-2507.Q4_K_M.gguf';
/** ipull resumes in 5 MiB chunks: the model must be bigger than two of them to show a resumed download. */
const CHUNK = 5 * 1024 * 1024;

let dir: string;
let hub: HfTestServer;
let modelBytes: Buffer;
let modelSha256: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jarvis-default-model-'));
  const folder = join(dir, 'hub', REPO);
  mkdirSync(folder, { recursive: true });
  // About 12.6 MB: 2.4 chunks, with random weights and a ChatML template, loadable by llama.cpp.
  writeTinyGguf(join(folder, REMOTE_FILE), { embeddingLength: 384, blockCount: 2, contextLength: 4096 });
  modelBytes = readFileSync(join(folder, REMOTE_FILE));
  modelSha256 = createHash('sha256').update(modelBytes).digest('hex');
  assert.ok(modelBytes.length > 2 * CHUNK);
  hub = await startHfServer({ models: [{ id: REPO, task: 'text-generation', folder }] });
});

after(async () => {
  await disposeEmbeddedModels();
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (layer: Record<string, unknown>) => configSchema.parse(layer);

/** A config with nothing about the LLM set, its cache in a fresh folder, and the loopback Hub. */
function unconfigured(name: string, layer: Record<string, Record<string, unknown>> = {}) {
  const cacheDir = join(dir, name);
  return {
    cacheDir,
    modelDir: join(cacheDir, 'gguf'),
    config: config({ ...layer, inference: { cacheDir, hubUrl: hub.url, ...layer.inference } }),
  };
}

const ASK: ChatRequest = {
  stage: 'plan',
  messages: [{ role: 'user', content: 'hi' }],
  jsonSchema: { name: 'answer', schema: { type: 'object', properties: { ok: { type: 'boolean' } } } },
};

async function assertAnswers(controller: ControllerModel, signal?: AbortSignal): Promise<void> {
  const reply = await controller.chat({ ...ASK, maxOutputTokens: 24, ...(signal ? { signal } : {}) });
  assert.equal(typeof (JSON.parse(reply.text) as { ok: unknown }).ok, 'boolean', reply.text);
}

const modelRequests = (requests: RecordedRequest[]) =>
  requests.filter((request) => /\/v2\/|\/resolve\/|\/lfs-blobs\//.test(request.path));
/** Downloads of the bytes: ipull sends a Range header with every GET it reads. */
const rangedGets = (requests: RecordedRequest[]) =>
  requests.filter(
    (request) => request.method === 'GET' && request.headers.range && /\/lfs-blobs\//.test(request.path),
  );
/** How many bytes these `bytes=A-B` ranges ask for. */
const requestedBytes = (ranges: string[]) =>
  ranges.reduce((sum, range) => {
    const [, start, end] = /^bytes=(\d+)-(\d+)$/.exec(range) ?? [];
    return sum + Number(end) - Number(start) + 1;
  }, 0);

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function waitFor(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 25));
  }
}

describe('which controller, and why', () => {
  test('an endpoint wins over everything', async () => {
    const { config: withEndpoint } = unconfigured('decide-endpoint', {
      llm: { baseURL: 'http://127.0.0.1:9/v1', model: 'm', localModel: 'x.gguf' },
    });
    const controller = await createController(withEndpoint);
    assert.equal(controller?.id, 'openai-compatible:m');
  });

  test('llm.localModel naming a file: that file', async () => {
    const path = writeTinyGguf(join(dir, 'own.gguf'), { contextLength: 1024 });
    const { config: local } = unconfigured('decide-file', { llm: { localModel: path, contextTokens: 512 } });
    assert.deepEqual(await chooseEmbeddedModel(local, {}), { kind: 'local-file', model: path });
    const status = await inspectEmbeddedModel(local, {});
    assert.equal(status.ready, true);
    assert.match(status.detail, /GGUF file of llm\.localModel, .*own\.gguf \(context 512 tokens/);
    assert.equal((await createController(local))?.id, 'embedded:own');
  });

  test('nothing configured, online: the default model, downloaded on the first LLM call and not before', async () => {
    const before = hub.requests.length;
    const { config: online, modelDir } = unconfigured('decide-download');
    assert.deepEqual(await chooseEmbeddedModel(online, {}), {
      kind: 'default-download',
      model: DEFAULT_LOCAL_MODEL,
    });
    const status = await inspectEmbeddedModel(online, {});
    assert.equal(status.ready, true);
    assert.match(
      status.detail,
      /default model hf:unsloth\/Qwen3-4B-Instruct-2507-GGUF:Q4_K_M \(about 2\.5 GB\) will be downloaded into/,
    );
    assert.match(status.detail, /JARVIS_LLM_AUTO_DOWNLOAD=0 turns this off/);
    const controller = await createController(online);
    assert.equal(controller?.id, 'embedded:hf_unsloth_Qwen3-4B-Instruct-2507.Q4_K_M');
    assert.equal(hub.requests.length, before, 'deciding asked the Hub');
    assert.equal(existsSync(modelDir), false, 'deciding wrote into the cache');
  });

  test('nothing configured and offline: no controller, and the error names the three ways forward in one line', async () => {
    const before = hub.requests.length;
    const { config: offline } = unconfigured('decide-offline', { inference: { offline: true } });
    assert.deepEqual(await chooseEmbeddedModel(offline, {}), {
      kind: 'none',
      model: DEFAULT_LOCAL_MODEL,
      reason: 'offline',
    });
    assert.match((await inspectEmbeddedModel(offline, {})).detail, /^none: .*Jarvis is offline/);
    const controller = await createController(offline);
    assert.equal(controller, undefined);
    assert.throws(
      () => requireController(controller, 'Planning'),
      (error: unknown) =>
        error instanceof ConfigError &&
        !error.message.includes('\n') &&
        /\(1\) set JARVIS_LLM_BASE_URL/.test(error.message) &&
        /\(2\) set JARVIS_LOCAL_MODEL to a GGUF file/.test(error.message) &&
        /\(3\) allow the download of the default local model/.test(error.message),
    );
    assert.equal(hub.requests.length, before);
  });

  test('automatic download off (llm.autoDownload, JARVIS_LLM_AUTO_DOWNLOAD=0): no controller', async () => {
    const { config: off } = unconfigured('decide-off', { llm: { autoDownload: false } });
    assert.deepEqual(await chooseEmbeddedModel(off, {}), {
      kind: 'none',
      model: DEFAULT_LOCAL_MODEL,
      reason: 'auto-download-off',
    });
    assert.match((await inspectEmbeddedModel(off, {})).detail, /automatic download is off/);
    assert.equal(await createController(off), undefined);
    const fromEnv = loadConfig({ cwd: dir, env: { JARVIS_LLM_AUTO_DOWNLOAD: '0' } }).config;
    assert.equal(fromEnv.llm.autoDownload, false);
    assert.equal(loadConfig({ cwd: dir, env: {} }).config.llm.autoDownload, true);
  });

  test('the default model already in the cache: used at once, even offline and with downloads off', async () => {
    const { config: cached, modelDir } = unconfigured('decide-cached', {
      llm: { autoDownload: false },
      inference: { offline: true },
    });
    mkdirSync(modelDir, { recursive: true });
    writeTinyGguf(join(modelDir, CACHED_FILE), { contextLength: 2048 });
    const choice = await chooseEmbeddedModel(cached, {});
    assert.equal(choice.kind, 'default-cached');
    assert.match(
      (await inspectEmbeddedModel(cached, {})).detail,
      /the default model .* cached at .*Q4_K_M\.gguf/,
    );
    const controller = await createController(cached);
    assert.equal(controller?.id, 'embedded:hf_unsloth_Qwen3-4B-Instruct-2507.Q4_K_M');
    assert.equal(controller?.contextTokens, 2048);
  });

  test('an llm.localModel reference that is not cached: an error offline, a download on first use online', async () => {
    const { config: offline } = unconfigured('decide-reference', {
      llm: { localModel: 'hf:someone/other-GGUF:Q4_K_M', autoDownload: false },
      inference: { offline: true },
    });
    await assert.rejects(createController(offline), ConfigError);
    offline.inference.offline = false;
    // Named by the user, so automatic-download-off does not stop it: that switch is about the default only.
    const status = await inspectEmbeddedModel(offline, {});
    assert.equal(status.choice, 'local-reference');
    assert.match(status.detail, /will be downloaded into .* on the first LLM call/);
    assert.equal((await createController(offline))?.id, 'embedded:hf_someone_other.Q4_K_M');
  });
});

describe('the default model on first use, from the Hub', { timeout: 120_000 }, () => {
  test('first use says what and how big, downloads with progress, checks the sha256, then answers', async () => {
    const { config: first, modelDir } = unconfigured('first-use');
    const progress: string[] = [];
    const before = hub.requests.length;
    const controller = await createController(first, { onProgress: (line) => progress.push(line) });
    assert.equal(hub.requests.length, before, 'creating the controller asked the Hub');
    assert.ok(controller);
    await assertAnswers(controller);

    const megabytes = `${(modelBytes.length / 1e6).toFixed(1)} MB`;
    assert.match(
      progress[0] ?? '',
      new RegExp(`^Downloading ${DEFAULT_LOCAL_MODEL} \\(${megabytes}\\) from `),
    );
    assert.ok(
      progress[0]?.includes(
        `${hub.url}/${REPO}/resolve/main/${REMOTE_FILE} into ${join(modelDir, CACHED_FILE)}`,
      ),
    );
    assert.ok(
      progress.some((line) => /: 100% \(/.test(line)),
      progress.join('\n'),
    );
    assert.ok(progress.includes(`Checking the sha256 of ${CACHED_FILE}`), progress.join('\n'));
    assert.equal(sha256Of(join(modelDir, CACHED_FILE)), modelSha256);
    assert.deepEqual(readdirSync(modelDir), [CACHED_FILE], 'partial files or notes were left behind');
    // The size and sha256 came from the Hub's redirect, which was asked without following it.
    const heads = hub.requests.slice(before).filter((request) => request.method === 'HEAD');
    assert.ok(heads.some((request) => request.path.startsWith(`/${REPO}/resolve/main/${REMOTE_FILE}`)));
    assert.equal(controller.id, 'embedded:hf_unsloth_Qwen3-4B-Instruct-2507.Q4_K_M');
    assert.equal(controller.contextTokens, 4096);

    // A later run starts from the cache and never asks the Hub.
    const later = hub.requests.length;
    const again = await createController(first, { onProgress: (line) => progress.push(`again: ${line}`) });
    assert.ok(again);
    await assertAnswers(again);
    assert.deepEqual(modelRequests(hub.requests.slice(later)), []);
    assert.ok(!progress.some((line) => line.startsWith('again: ')));
  });

  test('concurrent first calls, also of separately created controllers, share one download', async () => {
    const { config: shared, modelDir } = unconfigured('shared');
    const before = hub.requests.length;
    const lines: string[] = [];
    const one = await createController(shared, { onProgress: (line) => lines.push(line) });
    const two = await createController(shared, { onProgress: (line) => lines.push(line) });
    assert.ok(one && two);
    await Promise.all([assertAnswers(one), assertAnswers(one), assertAnswers(two)]);
    // ipull fetches a file in parallel ranges; one download asks for each range once.
    const ranges = rangedGets(hub.requests.slice(before)).map((request) => String(request.headers.range));
    assert.equal(new Set(ranges).size, ranges.length, `a range was downloaded twice: ${ranges.join(', ')}`);
    // ipull may split a slow range between its streams, so ranges can overlap a little; two downloads would
    // ask for every byte twice.
    assert.ok(requestedBytes(ranges) < 1.5 * modelBytes.length, ranges.join(', '));
    assert.equal(
      lines.filter((line) => line.startsWith('Downloading hf:')).length,
      2,
      'one announcement per listener',
    );
    assert.equal(sha256Of(join(modelDir, CACHED_FILE)), modelSha256);
  });

  test('a connection dropped half-way is continued with a Range request, not restarted', async () => {
    const { config: dropped, modelDir } = unconfigured('dropped');
    const before = hub.requests.length;
    hub.spoilNextDownload({ kind: 'drop', afterBytes: 2_000_000 });
    const controller = await createController(dropped, { onProgress: () => {} });
    assert.ok(controller);
    await assertAnswers(controller);
    const gets = rangedGets(hub.requests.slice(before));
    const ranges = gets.map((request) => String(request.headers.range));
    const broken = String(gets.find((request) => request.fault === 'drop')?.headers.range);
    // The broken range is asked again; the ranges that arrived whole are not.
    assert.equal(ranges.filter((range) => range === broken).length, 2, ranges.join(', '));
    assert.equal(new Set(ranges).size, ranges.length - 1, ranges.join(', '));
    assert.equal(sha256Of(join(modelDir, CACHED_FILE)), modelSha256);
  });

  test('a download stopped half-way (Ctrl-C) continues on the next run from where it stopped', async () => {
    const { config: stopped, modelDir } = unconfigured('stopped');
    hub.spoilNextDownload({ kind: 'stall', afterBytes: 2_000_000 });
    const before = hub.requests.length;
    const firstRun = await createController(stopped, { onProgress: () => {} });
    assert.ok(firstRun);
    const interrupt = new AbortController();
    const asked = firstRun.chat({ ...ASK, signal: interrupt.signal });
    // The ranges that were not stalled arrive whole and are recorded in the partial file, whose progress
    // record follows the model's bytes.
    const partial = join(modelDir, `${CACHED_FILE}.ipull`);
    await waitFor(
      () => existsSync(partial) && statSync(partial).size > modelBytes.length,
      'the partial file',
    );
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
    interrupt.abort();
    await assert.rejects(asked, CancelledError);
    assert.ok(existsSync(partial), `the partial download is gone: ${readdirSync(modelDir).join(', ')}`);
    assert.equal(existsSync(join(modelDir, CACHED_FILE)), false);
    const stalled = String(
      rangedGets(hub.requests.slice(before)).find((request) => request.fault === 'stall')?.headers.range,
    );

    const later = hub.requests.length;
    const lines: string[] = [];
    const secondRun = await createController(stopped, { onProgress: (line) => lines.push(line) });
    assert.ok(secondRun);
    await assertAnswers(secondRun);
    assert.match(lines[0] ?? '', /^Resuming the download of /);
    const ranges = rangedGets(hub.requests.slice(later)).map((request) => String(request.headers.range));
    // Only bytes the stalled range had not delivered are asked for again.
    const [, from, to] = (/^bytes=(\d+)-(\d+)$/.exec(stalled) ?? []).map(Number);
    assert.ok(ranges.length > 0);
    for (const range of ranges) {
      const [, start, end] = (/^bytes=(\d+)-(\d+)$/.exec(range) ?? []).map(Number);
      assert.ok(start! >= from! && end! <= to!, `${range} is outside the stalled ${stalled}`);
    }
    assert.ok(requestedBytes(ranges) < modelBytes.length / 2, ranges.join(', '));
    assert.equal(sha256Of(join(modelDir, CACHED_FILE)), modelSha256);
    assert.deepEqual(readdirSync(modelDir), [CACHED_FILE]);
  });

  test('a file that does not match the sha256 the Hub gives is refused and deleted', async () => {
    const { config: spoiled, modelDir } = unconfigured('corrupt');
    hub.spoilNextDownload({ kind: 'corrupt', afterBytes: 1_000_000 });
    const controller = await createController(spoiled, { onProgress: () => {} });
    assert.ok(controller);
    await assert.rejects(
      controller.chat(ASK),
      (error: unknown) =>
        error instanceof ConfigError &&
        !error.message.includes('\n') &&
        error.message.includes(`its sha256 is `) &&
        error.message.includes(`where the Hub says ${modelSha256}`) &&
        /It was deleted, not used; run again to download it anew/.test(error.message),
    );
    assert.deepEqual(readdirSync(modelDir), [], 'the refused file was kept');
    // The next call downloads it anew, and this time it is right.
    await assertAnswers(controller);
    assert.equal(sha256Of(join(modelDir, CACHED_FILE)), modelSha256);
  });

  test('a Hub that cannot be reached fails the first LLM call in one line naming the three ways forward', async () => {
    const { config: unreachable, cacheDir } = unconfigured('unreachable', {
      inference: { hubUrl: 'http://127.0.0.1:9' },
    });
    const controller = await createController(unreachable, { onProgress: () => {} });
    assert.ok(controller);
    await assert.rejects(
      controller.chat(ASK),
      (error: unknown) =>
        error instanceof ConfigError &&
        !error.message.includes('\n') &&
        /the Hub at http:\/\/127\.0\.0\.1:9 is unreachable/.test(error.message) &&
        /\(1\) point Jarvis at an OpenAI-compatible endpoint/.test(error.message) &&
        /\(2\) set JARVIS_LOCAL_MODEL to a GGUF file/.test(error.message) &&
        new RegExp(
          `\\(3\\) let Jarvis download ${DEFAULT_LOCAL_MODEL} \\(about 2\\.5 GB\\) into ${join(cacheDir, 'gguf')}`,
        ).test(error.message),
    );
  });
});
