import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Setup, setup } from '../../test/server/support.js';
import { pngDeclaring } from '../../test/support/hostile-media.js';
import { createServerApp, type JarvisServerApp } from './index.js';

let env: Setup;
let server: JarvisServerApp;

before(async () => {
  env = await setup();
  const config = env.config();
  server = await createServerApp({ config, jarvis: await env.jarvis(config) });
});
after(async () => {
  await server.close();
  await env.llm.close();
});

async function upload(bytes: Uint8Array, name: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  return server.app.request('/v1/uploads', { method: 'POST', body: form });
}

describe('image uploads and the pixel limit', () => {
  test('a small PNG declaring 16000×16000 pixels is refused with 413, naming the size and the limit', async () => {
    const bytes = pngDeclaring(16_000, 16_000);
    assert.ok(bytes.length < 2_000, 'well under any byte limit');
    const started = performance.now();
    const response = await upload(bytes, 'huge.png');
    assert.ok(performance.now() - started < 2_000, 'decided from the header');
    assert.equal(response.status, 413);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'image_too_large');
    assert.match(
      error.message,
      /"huge\.png": the image is 16000×16000 \(256\.0 megapixels\), over the limit of 40 megapixels/,
    );
    const uploads = join(env.dataDir, 'uploads');
    const stored = existsSync(uploads) ? readdirSync(uploads) : [];
    assert.deepEqual(stored, [], 'nothing was stored');
  });

  test('an image at the limit (8000×5000, 40 megapixels) is accepted', async () => {
    const response = await upload(pngDeclaring(8_000, 5_000), 'big.png');
    assert.equal(response.status, 201);
  });
});
