import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../core/errors.js';
import { loadConfig, parseConfig } from './load.js';
import { configSchema } from './schema.js';

const folder = () => mkdtempSync(join(tmpdir(), 'jarvis-config-'));
const noHome = (cwd: string) => ({ XDG_CONFIG_HOME: join(cwd, 'no-such-home') });

describe('configuration layers', () => {
  test('defaults apply when nothing is set', () => {
    const cwd = folder();
    const { config, file } = loadConfig({ cwd, env: noHome(cwd) });
    assert.equal(file, undefined);
    assert.equal(config.llm.baseURL, undefined);
    assert.equal(config.select.strategy, 'llm');
    assert.equal(config.inference.mode, 'hybrid');
    assert.equal(config.dataDir, join(cwd, '.jarvis'));
  });

  test('file < environment < flags, each overriding only what it sets', () => {
    const cwd = folder();
    writeFileSync(
      join(cwd, 'jarvis.config.json'),
      JSON.stringify({ llm: { baseURL: 'http://file/v1', model: 'file-model' }, select: { topK: 2 } }),
    );
    const env = { ...noHome(cwd), JARVIS_LLM_MODEL: 'env-model', JARVIS_LLM_API_KEY: 'sk-env' };
    const { config, file } = loadConfig({ cwd, env, flags: { llm: { model: 'flag-model' } } });
    assert.equal(file, join(cwd, 'jarvis.config.json'));
    assert.equal(config.llm.baseURL, 'http://file/v1');
    assert.equal(config.llm.model, 'flag-model');
    assert.equal(config.llm.apiKey, 'sk-env');
    assert.equal(config.select.topK, 2);
  });

  test('OPENAI_* variables are fallbacks for the JARVIS_* ones', () => {
    const cwd = folder();
    const fallback = loadConfig({
      cwd,
      env: { ...noHome(cwd), OPENAI_BASE_URL: 'http://openai/v1', OPENAI_API_KEY: 'sk-o' },
    });
    assert.equal(fallback.config.llm.baseURL, 'http://openai/v1');
    assert.equal(fallback.config.llm.apiKey, 'sk-o');
    const preferred = loadConfig({
      cwd,
      env: { ...noHome(cwd), OPENAI_BASE_URL: 'http://openai/v1', JARVIS_LLM_BASE_URL: 'http://jarvis/v1' },
    });
    assert.equal(preferred.config.llm.baseURL, 'http://jarvis/v1');
  });

  test('an invalid value is one clear error naming the setting and the file', () => {
    const cwd = folder();
    writeFileSync(join(cwd, 'jarvis.config.json'), JSON.stringify({ execute: { concurrency: 0 } }));
    assert.throws(
      () => loadConfig({ cwd, env: noHome(cwd) }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /execute\.concurrency/.test(error.message) &&
        /jarvis\.config\.json/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ cwd, env: { ...noHome(cwd), JARVIS_LLM_TIMEOUT_MS: 'soon' } }),
      /JARVIS_LLM_TIMEOUT_MS must be an integer/,
    );
    assert.throws(
      () => loadConfig({ cwd, env: { ...noHome(cwd), JARVIS_INFERENCE_MODE: 'remote' } }),
      /JARVIS_INFERENCE_MODE must be local, huggingface or hybrid, got "remote"/,
    );
  });

  test('an unknown key is an error naming the file and the key meant, at any depth', () => {
    const cwd = folder();
    const cases: [object, string][] = [
      [
        { selct: { strategy: 'top' } },
        'unknown config key "selct" in jarvis.config.json — did you mean "select"?',
      ],
      [
        { execute: { concurency: 2 } },
        'unknown config key "execute.concurency" in jarvis.config.json — did you mean "execute.concurrency"?',
      ],
      [{ llm: { baseUrl: 'http://x/v1' } }, 'did you mean "llm.baseURL"?'],
      // A setting put at the wrong level is found where it belongs.
      [
        { concurrency: 2 },
        'unknown config key "concurrency" in jarvis.config.json — did you mean "execute.concurrency"?',
      ],
      [{ zebra: 1 }, 'unknown config key "zebra" in jarvis.config.json (known keys: llm, plan, select'],
    ];
    for (const [content, message] of cases) {
      writeFileSync(join(cwd, 'jarvis.config.json'), JSON.stringify(content));
      assert.throws(
        () => loadConfig({ cwd, env: noHome(cwd) }),
        (error: unknown) => error instanceof ConfigError && error.message.includes(message),
        JSON.stringify(content),
      );
    }
  });

  test("settings given by a program get the same message: it is the schema's own", () => {
    const parsed = configSchema.safeParse({ execute: { concurency: 2 } });
    assert.equal(parsed.success, false);
    assert.deepEqual(
      parsed.error?.issues.map((issue) => issue.message),
      ['unknown config key "execute.concurency" — did you mean "execute.concurrency"?'],
    );
    assert.throws(
      () => parseConfig({ selct: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message === 'unknown config key "selct" — did you mean "select"?',
    );
  });

  test('a config file outside the working directory is named by its full path', () => {
    const cwd = folder();
    const elsewhere = join(folder(), 'settings.json');
    writeFileSync(elsewhere, JSON.stringify({ respond: { enable: false } }));
    assert.throws(
      () => loadConfig({ cwd, env: noHome(cwd), configFile: elsewhere }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message ===
          `unknown config key "respond.enable" in ${elsewhere} — did you mean "respond.enabled"?`,
    );
  });

  test('a config file that is not JSON, or missing when named, says so', () => {
    const cwd = folder();
    writeFileSync(join(cwd, 'broken.json'), '{ nope');
    assert.throws(
      () => loadConfig({ cwd, env: noHome(cwd), configFile: 'broken.json' }),
      /Cannot read config file/,
    );
    assert.throws(
      () => loadConfig({ cwd, env: noHome(cwd), configFile: 'absent.json' }),
      /Config file not found/,
    );
  });
});
