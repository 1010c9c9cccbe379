import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tinyGguf, writeTinyGguf } from '../../../scripts/make-tiny-gguf.js';
import { configSchema } from '../../config/schema.js';
import { ConfigError } from '../../core/errors.js';
import { createController, LLM_NOT_CONFIGURED } from '../index.js';
import { createEmbeddedControllerFromConfig, inspectEmbeddedModel } from './from-config.js';
import { DEFAULT_LOCAL_MODEL, modelCacheDir, resolveModelPath } from './model-file.js';
import { disposeEmbeddedModels } from './runtime.js';

/**
 * A loopback stand-in for the Hugging Face Hub, speaking the two requests node-llama-cpp makes for an
 * `hf:owner/repo:quant` reference: the manifest that names the GGUF file, and the file (with ranges).
 */
function startHub(model: Buffer): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://hub');
    requests.push(`${request.method} ${url.pathname}`);
    const manifest = /^\/v2\/([^/]+)\/([^/]+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifest) {
      const name = `${manifest[2]!.replace(/-GGUF$/i, '')}-${manifest[3]}.gguf`;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ ggufFile: { rfilename: name, size: model.length } }));
      return;
    }
    // Only repositories named like GGUF repositories exist here.
    if (/^\/[^/]+\/[^/]+-GGUF\/resolve\/main\//i.test(url.pathname)) {
      response.setHeader('accept-ranges', 'bytes');
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      const end = range?.[2] ? Number(range[2]) : model.length - 1;
      if (range) {
        response.statusCode = 206;
        response.setHeader('content-range', `bytes ${start}-${end}/${model.length}`);
      }
      response.setHeader('content-length', end - start + 1);
      response.end(request.method === 'HEAD' ? undefined : model.subarray(start, end + 1));
      return;
    }
    response.statusCode = 404;
    response.end('not found');
  });
  return new Promise((resolvePromise) =>
    server.listen(0, '127.0.0.1', () =>
      resolvePromise({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        requests,
      }),
    ),
  );
}

let dir: string;
let hub: Awaited<ReturnType<typeof startHub>>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jarvis-model-file-'));
  hub = await startHub(tinyGguf({ contextLength: 2048 }));
  // node-llama-cpp reads the Hub address from HF_ENDPOINT, as llama.cpp does.
  process.env.HF_ENDPOINT = hub.url;
});

after(async () => {
  await disposeEmbeddedModels();
  hub.server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('model files and references', () => {
  test('a relative file path is read from the working directory', async () => {
    writeTinyGguf(join(dir, 'here.gguf'));
    assert.equal(
      await resolveModelPath('here.gguf', { cacheDir: join(dir, 'cache'), cwd: dir }),
      join(dir, 'here.gguf'),
    );
  });

  test('a reference is downloaded once into the cache, with progress, then found there even offline', async () => {
    const cacheDir = join(dir, 'download-once');
    const progress: string[] = [];
    const path = await resolveModelPath('hf:someone/tiny-model-GGUF:Q4_K_M', {
      cacheDir,
      onProgress: (message) => progress.push(message),
    });
    assert.ok(path.startsWith(cacheDir));
    assert.deepEqual(readdirSync(cacheDir), ['hf_someone_tiny-model.Q4_K_M.gguf']);
    assert.match(
      progress[0]!,
      /^Downloading hf:someone\/tiny-model-GGUF:Q4_K_M \(\d+ kB\) from .* into .*, once/,
    );
    assert.ok(
      progress.some((line) => /100% \(/.test(line)),
      progress.join('\n'),
    );
    const requestsAfterDownload = hub.requests.length;
    assert.equal(
      await resolveModelPath('hf:someone/tiny-model-GGUF:Q4_K_M', { cacheDir, offline: true }),
      path,
    );
    assert.equal(await resolveModelPath('hf:someone/tiny-model-GGUF:Q4_K_M', { cacheDir }), path);
    assert.equal(hub.requests.length, requestsAfterDownload, 'the cached model was fetched again');
  });

  test('offline, a reference that is not in the cache is a ConfigError naming the three ways forward', async () => {
    const requestsBefore = hub.requests.length;
    await assert.rejects(
      resolveModelPath('hf:someone/other-model-GGUF:Q4_K_M', { cacheDir: join(dir, 'empty'), offline: true }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /JARVIS_LLM_BASE_URL/.test(error.message) &&
        /JARVIS_LOCAL_MODEL to a GGUF file/.test(error.message) &&
        /let Jarvis download hf:someone\/other-model-GGUF:Q4_K_M into .* once/.test(error.message),
    );
    assert.equal(hub.requests.length, requestsBefore, 'offline, the Hub was asked');
  });

  test('a reference the Hub does not have is a ConfigError that says so', async () => {
    await assert.rejects(
      resolveModelPath('hf:someone/missing/file.gguf', { cacheDir: join(dir, 'missing') }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /the Hub has no hf:someone\/missing\/file.gguf \(HTTP 404\)/.test(error.message),
    );
  });

  test('the model cache is <inference.cacheDir>/gguf, else under XDG_CACHE_HOME', () => {
    assert.equal(modelCacheDir('/data/cache'), join('/data/cache', 'gguf'));
    assert.equal(modelCacheDir(undefined, { XDG_CACHE_HOME: '/xdg' }), join('/xdg', 'jarvis', 'gguf'));
  });
});

describe('choosing the embedded controller from the config', () => {
  const config = (layer: Record<string, unknown>) => configSchema.parse(layer);

  test('without an endpoint or a local model, nothing cached and no automatic download, there is no controller', async () => {
    const none = config({
      llm: { autoDownload: false },
      inference: { cacheDir: join(dir, 'nothing-cached') },
    });
    assert.equal(await createEmbeddedControllerFromConfig(none), undefined);
    assert.equal(await createController(none), undefined);
    assert.match(LLM_NOT_CONFIGURED, /JARVIS_LLM_BASE_URL/);
    assert.match(LLM_NOT_CONFIGURED, /JARVIS_LOCAL_MODEL to a GGUF file/);
    assert.ok(LLM_NOT_CONFIGURED.includes(`JARVIS_LOCAL_MODEL=${DEFAULT_LOCAL_MODEL}`));
  });

  test('llm.localModel names a GGUF file: the controller runs it', async () => {
    const path = writeTinyGguf(join(dir, 'configured.gguf'), { contextLength: 1024 });
    const controller = await createController(
      config({ llm: { localModel: path }, inference: { cacheDir: join(dir, 'cache') } }),
    );
    assert.equal(controller?.id, 'embedded:configured');
    assert.equal(controller?.contextTokens, 1024);
    const reply = await controller!.chat({
      stage: 'plan',
      messages: [{ role: 'user', content: 'hi' }],
      jsonSchema: { name: 'answer', schema: { type: 'object', properties: { ok: { type: 'boolean' } } } },
    });
    assert.equal(typeof (JSON.parse(reply.text) as { ok: unknown }).ok, 'boolean');
  });

  test('an endpoint wins over a local model', async () => {
    const controller = await createController(
      config({
        llm: { baseURL: 'http://127.0.0.1:9/v1', model: 'm', localModel: join(dir, 'configured.gguf') },
      }),
    );
    assert.equal(controller?.id, 'openai-compatible:m');
  });

  test('the default model is used without configuration once it is in the cache', async () => {
    const cacheDir = join(dir, 'default-cache');
    mkdirSync(cacheDir);
    await resolveModelPath(DEFAULT_LOCAL_MODEL, { cacheDir: modelCacheDir(cacheDir) });
    const controller = await createController(config({ inference: { cacheDir, offline: true } }));
    assert.equal(controller?.id, 'embedded:hf_unsloth_Qwen3-4B-Instruct-2507.Q4_K_M');
    assert.equal(controller?.contextTokens, 2048);
  });

  test('offline, a local model reference that is not cached is a ConfigError, not a silent fallback', async () => {
    await assert.rejects(
      createController(
        config({
          llm: { localModel: 'hf:someone/not-here-GGUF:Q4_K_M' },
          inference: { cacheDir: join(dir, 'offline'), offline: true },
        }),
      ),
      ConfigError,
    );
  });

  test('doctor can tell what would run without loading or downloading anything', async () => {
    const requestsBefore = hub.requests.length;
    const none = await inspectEmbeddedModel(
      config({ llm: { autoDownload: false }, inference: { cacheDir: join(dir, 'inspect-empty') } }),
      {},
    );
    assert.equal(none.ready, false);
    assert.equal(none.source, 'default');
    assert.match(none.detail, /is not in/);

    const file = await inspectEmbeddedModel(
      config({ llm: { localModel: writeTinyGguf(join(dir, 'inspected.gguf')), contextTokens: 512 } }),
      { JARVIS_LLM_THREADS: '3' },
    );
    assert.equal(file.ready, true);
    assert.equal(file.contextTokens, 512);
    assert.equal(file.threads, 3);
    assert.match(file.detail, /inspected\.gguf \(context 512 tokens, 3 CPU threads/);

    const missing = await inspectEmbeddedModel(config({ llm: { localModel: join(dir, 'gone.gguf') } }), {});
    assert.equal(missing.ready, false);
    assert.match(missing.detail, /gone\.gguf does not exist/);

    const toDownload = config({
      llm: { localModel: 'hf:someone/later-GGUF:Q4_K_M' },
      inference: { cacheDir: join(dir, 'inspect') },
    });
    assert.match((await inspectEmbeddedModel(toDownload, {})).detail, /will be downloaded into/);
    toDownload.inference.offline = true;
    assert.equal((await inspectEmbeddedModel(toDownload, {})).ready, false);
    assert.equal(hub.requests.length, requestsBefore, 'inspecting asked the Hub');
  });
});
