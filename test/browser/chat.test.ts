// The web UI in headless Chromium (Debian's, driven by playwright-core; no browser is ever downloaded):
// drop an image, ask, watch the graph run, read the answer; find the conversation again after a reload and
// after a restart of the server. Screenshots go to test-results/ for a person to look at.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createLocalBackend, LOCAL_EXPERTS } from '../../src/backends/local/index.js';
import { configSchema, type JarvisConfig } from '../../src/config/schema.js';
import { createJarvis } from '../../src/run/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import { answerWhen, fixture, planWhen, type Setup, setup, UPLOAD_PATH } from '../server/support.js';
import { createTestBackend } from '../support/test-backend.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(ROOT, 'test-results');
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;

let env: Setup;
let browser: Browser;
let server: RunningServer;
let config: JarvisConfig;
let port = 0;

// Captioning waits long enough that the graph is seen with a task running.
const captioner = createTestBackend({
  id: 'vision',
  tasks: ['image-to-text', 'text-to-speech'],
  latencyMs: (request) => (request.task === 'image-to-text' ? 2500 : 10),
});

async function startJarvis(): Promise<RunningServer> {
  const jarvis = await createJarvis(config, {
    backends: [
      createLocalBackend({ experts: LOCAL_EXPERTS.filter((expert) => expert.task === 'object-detection') }),
      captioner,
    ],
  });
  return startServer({ config, jarvis, port });
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** Drops a file on the page the way a user's drag and drop does (dragenter, then drop with the file). */
async function dropFile(page: Page, path: string, name: string, type: string): Promise<void> {
  const base64 = readFileSync(path).toString('base64');
  const dataTransfer = await page.evaluateHandle(
    ({ base64, name, type }) => {
      const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type }));
      return transfer;
    },
    { base64, name, type },
  );
  await page.dispatchEvent('.thread', 'dragenter', { dataTransfer });
  assert.equal(await page.isVisible('.dropzone'), true, 'the drop target shows while dragging');
  await page.dispatchEvent('.thread', 'drop', { dataTransfer });
}

/** Attaches the zebra photo, waits until its upload is ready, and sends `prompt` with it. */
async function askAboutZebraPhoto(page: Page, prompt: string): Promise<void> {
  await dropFile(page, fixture('images', 'b.jpg'), 'zebra.jpg', 'image/jpeg');
  await page.waitForSelector('[data-testid=attachment].chip-ready', { timeout: 30_000 });
  await page.fill('[data-testid=prompt]', prompt);
  await page.keyboard.press('Enter');
}

before(async () => {
  if (skip) return;
  if (!existsSync(join(ROOT, 'web', 'dist', 'index.html'))) {
    const built = spawnSync('npm', ['run', '--silent', 'build:web'], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(built.status, 0, 'building the web UI failed');
  }
  env = await setup();
  planWhen(env.llm, 'How many zebras', (request) => [
    {
      id: 0,
      task: 'object-detection',
      dep: [-1],
      args: { image: UPLOAD_PATH.exec(request)?.[0] ?? 'x.jpg' },
    },
    { id: 1, task: 'image-to-text', dep: [-1], args: { image: UPLOAD_PATH.exec(request)?.[0] ?? 'x.jpg' } },
    { id: 2, task: 'text-to-speech', dep: [1], args: { text: '<GENERATED>-1' } },
  ]);
  planWhen(env.llm, 'Take your time', () => ({ content: '[]', delayMs: 8_000 }));
  planWhen(env.llm, 'Partly broken', () => [
    { id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'Hello there.' } },
    { id: 1, task: 'object-detection', dep: [-1], args: { image: 'missing.jpg' } },
  ]);
  answerWhen(env.llm, 'Partly broken', 'I read the text aloud; the picture could not be found.');
  answerWhen(env.llm, 'How many zebras', {
    content:
      'There is one zebra in the picture. I detected it with an object detector and described the image.',
    chunkDelayMs: 25,
  });
  config = configSchema.parse({
    llm: { baseURL: env.llm.baseURL, apiKey: 'sk-test-0000', model: 'test-model', maxRetries: 0 },
    select: { strategy: 'top' },
    dataDir: join(env.dataDir, 'browser'),
    server: { port: 0 },
  });
  server = await startJarvis();
  port = Number(new URL(server.url).port);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await env?.llm.close();
});

describe('web UI', { skip }, () => {
  let conversationUrl = '';

  test('drop an image, ask, watch the graph run and read the streamed answer', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    // Console errors include Content-Security-Policy violations and failed requests.
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(server.url);
    await page.waitForSelector('.welcome');

    await askAboutZebraPhoto(page, 'How many zebras are in this picture?');

    // The graph appears with its nodes and the edge 1 -> 2, and a task is seen running before all are done.
    await page.waitForSelector('[data-testid=graph] .node[data-task-id="2"]', { timeout: 60_000 });
    assert.equal(await page.locator('[data-testid=graph] .edge[data-from="1"][data-to="2"]').count(), 1);
    await page.waitForSelector('[data-testid=graph] .node[data-status=running]', { timeout: 60_000 });
    await screenshot(page, 'chat-running');
    await page.waitForSelector('[data-testid=run][data-status=succeeded]', { timeout: 120_000 });
    await screenshot(page, 'chat-done');

    const nodes = await page.$$eval('[data-testid=graph] .node', (elements) =>
      elements.map((element) => element.getAttribute('data-status')),
    );
    assert.deepEqual(nodes, ['succeeded', 'succeeded', 'succeeded']);
    const models = await page.$$eval('.task .task-model code', (elements) =>
      elements.map((element) => element.textContent),
    );
    assert.equal(models.length, 3);
    assert.ok(
      models.some((model) => model?.startsWith('vision:')),
      `models: ${models.join(', ')}`,
    );
    const reasons = await page.$$eval('.task .task-reason', (elements) => elements.length);
    assert.equal(reasons, 3, 'each task says why its model was chosen');
    // The spoken description gets an audio player whose file the server serves as audio.
    const audioUrl = await page.getAttribute('.task[data-task-id="2"] .artifact-audio audio', 'src');
    assert.ok(audioUrl);
    const audio = await page.request.get(new URL(audioUrl, server.url).href);
    assert.equal(audio.headers()['content-type'], 'audio/wav');
    // The detector's output image is shown and really loads from the server.
    const imageWidth = await page.$eval('.task[data-task-id="0"] .artifact-image img', (image) => {
      const element = image as HTMLImageElement;
      return element.complete
        ? element.naturalWidth
        : new Promise<number>((done) => {
            element.onload = () => done(element.naturalWidth);
          });
    });
    assert.ok(imageWidth > 0, 'the artifact image loaded');
    const answer = await page.textContent('[data-testid=answer]');
    assert.match(answer ?? '', /There is one zebra in the picture/);
    // The user's upload is shown in their message.
    assert.equal(await page.locator('[data-testid=user-turn] img.thumb').count(), 1);
    const listed = await page.$$eval('[data-testid=conversation-link]', (links) =>
      links.map((link) => link.textContent),
    );
    assert.ok(
      listed.some((text) => text?.includes('How many zebras')),
      `conversations: ${listed.join(' | ')}`,
    );
    conversationUrl = page.url();
    assert.match(conversationUrl, /#\/c\/c_/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('after a reload the conversation is still there, under the title it was renamed to', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(conversationUrl);
    await page.waitForSelector('[data-testid=run][data-status=succeeded]', { timeout: 30_000 });
    await page.click('[data-testid=title]');
    await page.fill('[data-testid=title] input', 'Zebra count');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('[data-testid=conversation-link]')).some((link) =>
        link.textContent?.includes('Zebra count'),
      ),
    );
    assert.match((await page.textContent('[data-testid=answer]')) ?? '', /one zebra/);
    assert.equal(await page.locator('[data-testid=graph] .node').count(), 3);
    await page.reload();
    await page.waitForSelector('[data-testid=run][data-status=succeeded]', { timeout: 30_000 });
    assert.equal(await page.textContent('[data-testid=title]'), 'Zebra count');
    await page.close();
  });

  test('after a restart of the server the conversation, its results and files are still there', async () => {
    await server.close();
    server = await startJarvis();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(server.url);
    await page.click('[data-testid=conversation-link]');
    await page.waitForSelector('[data-testid=run][data-status=succeeded]', { timeout: 30_000 });
    assert.match((await page.textContent('[data-testid=answer]')) ?? '', /one zebra/);
    const loaded = await page.$eval('.task[data-task-id="0"] .artifact-image img', (image) => {
      const element = image as HTMLImageElement;
      return element.complete
        ? element.naturalWidth
        : new Promise<number>((done) => {
            element.onload = () => done(element.naturalWidth);
          });
    });
    assert.ok(loaded > 0);
    await screenshot(page, 'chat-after-restart');
    await page.close();
  });

  test('on a phone the page fits the screen and the conversation list opens from the menu', async () => {
    const page = await browser.newPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    await page.goto(conversationUrl);
    await page.waitForSelector('[data-testid=run][data-status=succeeded]', { timeout: 30_000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    assert.equal(await page.isVisible('.topbar .menu'), true);
    await screenshot(page, 'chat-phone');
    await page.click('.topbar .menu');
    await page.waitForSelector('[data-testid=conversation-link]', { state: 'visible' });
    // The drawer slides in; the screenshot is taken once it has arrived.
    await page.waitForFunction(
      () => getComputedStyle(document.querySelector('.sidebar')!).transform === 'none',
    );
    await screenshot(page, 'chat-phone-menu');
    await page.close();
  });

  test('a running request can be cancelled from its card', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(server.url);
    await page.fill('[data-testid=prompt]', 'Take your time with this one');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=run][data-status=running] .cancel');
    await page.click('[data-testid=run] .cancel');
    await page.waitForSelector('[data-testid=run][data-status=cancelled]', { timeout: 30_000 });
    assert.match((await page.textContent('[data-testid=run-status]')) ?? '', /Cancelled/);
    await page.close();
  });

  test('a run where one task failed is not shown as a plain Done: the card says how many failed', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(server.url);
    await page.fill('[data-testid=prompt]', 'Partly broken: read this aloud and look at missing.jpg');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=run][data-status=succeeded]', { timeout: 30_000 });
    const status = (await page.textContent('[data-testid=run-status]')) ?? '';
    assert.match(status, /Done with failures/);
    assert.match(status, /2 tasks, 1 failed/);
    assert.equal(await page.isVisible('[data-testid=run-status] .dot-partial'), true);
    await page.close();
  });

  test('the settings dialog changes the model and inference mode used by new runs', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(server.url);
    await page.click('.topbar [aria-label=Settings]');
    await page.waitForSelector('dialog.settings[open]');
    assert.equal(await page.inputValue('dialog.settings input[name=model]'), 'test-model');
    assert.equal(
      await page.inputValue('dialog.settings input[name=llmKey]'),
      '',
      'the saved key is never sent back',
    );
    await page.fill('dialog.settings input[name=model]', 'another-model');
    await page.selectOption('dialog.settings select[name=mode]', 'local');
    await screenshot(page, 'settings');
    await page.click('dialog.settings button[type=submit]');
    await page.waitForSelector('dialog.settings', { state: 'detached' });
    const settings = (await (await fetch(`${server.url}/v1/settings`)).json()) as {
      llm: { model: string; apiKeySet: boolean };
      inference: { mode: string };
    };
    assert.equal(settings.llm.model, 'another-model');
    assert.equal(settings.llm.apiKeySet, true);
    assert.equal(settings.inference.mode, 'local');
    await page.close();
  });

  test('settings the server’s environment or flags set are shown locked, with where to change them', async () => {
    const pinned = await startServer({
      config: { ...config, dataDir: join(env.dataDir, 'browser-locked') },
      jarvis: await createJarvis(config, { backends: [captioner] }),
      port: 0,
      explicit: { llm: { model: 'test-model' } },
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(pinned.url);
      await page.click('.topbar [aria-label=Settings]');
      await page.waitForSelector('dialog.settings[open]');
      assert.equal(await page.isDisabled('dialog.settings input[name=model]'), true);
      assert.equal(await page.isDisabled('dialog.settings select[name=mode]'), false);
      assert.match(
        (await page.textContent('[data-testid=locked-settings]')) ?? '',
        /environment or command-line flags.*Model/,
      );
      await screenshot(page, 'settings-locked');
    } finally {
      await page.close();
      await pinned.close();
    }
  });

  test('a file that is not an image, audio or video is refused with a message on its chip', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(server.url);
    await page.setInputFiles('[data-testid=file-input]', {
      name: 'notes.jpg',
      mimeType: 'image/jpeg',
      buffer: Buffer.from('just some text, not a picture'),
    });
    await page.waitForSelector('[data-testid=attachment].chip-error');
    assert.match((await page.textContent('[data-testid=attachment]')) ?? '', /not an image, audio or video/);
    await page.close();
  });
});

describe('web UI behind an API key', { skip }, () => {
  const key = 'browser-test-key-0123456789';
  let keyed: RunningServer | undefined;

  after(async () => {
    await keyed?.close();
  });

  test('asks for the key, then works with it; files load through signed links', async () => {
    const keyedConfig = configSchema.parse({ ...config, server: { ...config.server, apiKey: key } });
    const jarvis = await createJarvis(keyedConfig, {
      backends: [
        createLocalBackend({ experts: LOCAL_EXPERTS.filter((expert) => expert.task === 'object-detection') }),
        captioner,
      ],
    });
    keyed = await startServer({ config: keyedConfig, jarvis, port: 0 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(keyed.url);
    await page.waitForSelector('.banner:not([hidden])');
    assert.match((await page.textContent('.banner')) ?? '', /API key/);

    await page.click('.topbar [aria-label=Settings]');
    await page.fill('dialog.settings input[name=serverKey]', key);
    await page.click('dialog.settings button[type=submit]');
    await page.waitForSelector('.banner[hidden]', { state: 'attached' });
    // The conversations from the other tests share the data folder and now show up.
    await page.waitForSelector('[data-testid=conversation-link]');

    await page.click('[data-testid=new-conversation]');
    await askAboutZebraPhoto(page, 'How many zebras are in this picture, with the key?');
    await page.waitForSelector('[data-testid=run][data-status=succeeded]', { timeout: 120_000 });
    const image = await page.$eval('.task[data-task-id="0"] .artifact-image img', (element) => {
      const img = element as HTMLImageElement;
      return {
        src: img.src,
        width: img.complete
          ? img.naturalWidth
          : new Promise<number>((done) => {
              img.onload = () => done(img.naturalWidth);
            }),
      };
    });
    assert.match(image.src, /\?sig=/);
    assert.ok((await image.width) > 0, 'the signed image link loads without the key header');
    await screenshot(page, 'chat-with-key');
    await page.close();
  });
});
