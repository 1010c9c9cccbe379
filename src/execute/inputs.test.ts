import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tinyPng } from '../../test/support/test-backend.js';
import { createArtifactDirectory } from './artifacts.js';
import { type InputPolicy, isPublicAddress, resolveInputFile, resolveLocalFile } from './inputs.js';

const scratch = await realpath(await mkdtemp(join(tmpdir(), 'jarvis-inputs-')));
const work = join(scratch, 'work');
const elsewhere = join(scratch, 'elsewhere');
after(() => rm(scratch, { recursive: true, force: true }));

function policy(overrides: Partial<InputPolicy> = {}): InputPolicy {
  return {
    cwd: work,
    allowedFiles: [],
    allowedDirs: [],
    allowPrivateUrls: false,
    maxDownloadBytes: 100_000,
    urlTimeoutMs: 5_000,
    ...overrides,
  };
}

const png = tinyPng(10, 200, 30);

before(async () => {
  await mkdir(join(work, 'photos'), { recursive: true });
  await mkdir(elsewhere, { recursive: true });
  await writeFile(join(work, 'photos', 'cat.png'), png);
  // A PNG under a .jpg name: the content decides the type.
  await writeFile(join(work, 'photos', 'renamed.jpg'), png);
  await writeFile(join(elsewhere, 'secret.txt'), 'do not read');
  await writeFile(join(elsewhere, 'upload.png'), png);
  await symlink(join(elsewhere, 'secret.txt'), join(work, 'innocent.png'));
});

describe('local input files', () => {
  test('a relative path inside the working directory resolves to its real path', async () => {
    assert.equal(await resolveLocalFile('photos/cat.png', policy()), join(work, 'photos', 'cat.png'));
  });

  test('paths that climb out of the working directory are refused before they are read', async () => {
    for (const path of [
      '../elsewhere/secret.txt',
      '../../../../etc/passwd',
      '/etc/passwd',
      join(elsewhere, 'secret.txt'),
    ]) {
      await assert.rejects(resolveLocalFile(path, policy()), (error: Error) => {
        assert.equal((error as { code?: string }).code, 'input');
        assert.match(error.message, /^refused: .* is outside the working directory/);
        return true;
      });
    }
  });

  test('a symlink inside the working directory cannot reach a file outside it', async () => {
    await assert.rejects(resolveLocalFile('innocent.png', policy()), /refused: "innocent.png" is outside/);
  });

  test('a missing file is named in the error', async () => {
    await assert.rejects(
      resolveLocalFile('photos/dog.png', policy()),
      /input file "photos\/dog.png" was not found/,
    );
  });

  test('a misspelt file name is answered with the names it was probably meant to be', async () => {
    await assert.rejects(
      resolveLocalFile('photos/catt.png', policy()),
      /input file "photos\/catt.png" was not found \(looked for .*\); did you mean "cat.png"\?/,
    );
  });

  test('allowed files and folders outside the working directory may be read', async () => {
    const upload = join(elsewhere, 'upload.png');
    assert.equal(await resolveLocalFile(upload, policy({ allowedFiles: [upload] })), upload);
    assert.equal(await resolveLocalFile(upload, policy({ allowedDirs: [elsewhere] })), upload);
    await assert.rejects(
      resolveLocalFile(join(elsewhere, 'secret.txt'), policy({ allowedFiles: [upload] })),
      /refused/,
    );
  });

  test('a folder is not an input file', async () => {
    await assert.rejects(resolveLocalFile('photos', policy()), /"photos" is not a file/);
  });

  test('the media type comes from the content, and file URLs obey the same confinement', async () => {
    const directory = createArtifactDirectory(join(scratch, 'out-local'));
    const options = { policy: policy(), directory, signal: new AbortController().signal };
    // The expert reads a private copy in the run folder; the record keeps the file the user named.
    assert.deepEqual(await resolveInputFile('photos/renamed.jpg', 'image', options), {
      path: join(scratch, 'out-local', 'inputs', 'renamed.jpg'),
      mimeType: 'image/png',
      source: join(work, 'photos', 'renamed.jpg'),
    });
    // A name already taken in the run folder (an earlier run's file, or a planted link) is passed over.
    await symlink(join(elsewhere, 'secret.txt'), join(scratch, 'out-local', 'inputs', 'cat.png'));
    const fileUrl = new URL(`file://${join(work, 'photos', 'cat.png')}`).href;
    const viaUrl = await resolveInputFile(fileUrl, 'image', options);
    assert.equal((viaUrl as { source?: string }).source, join(work, 'photos', 'cat.png'));
    assert.equal(viaUrl.path, join(scratch, 'out-local', 'inputs', 'cat-2.png'));
    assert.deepEqual(await readFile(viaUrl.path), png);
    assert.equal(await readFile(join(elsewhere, 'secret.txt'), 'utf8'), 'do not read');
    await assert.rejects(resolveInputFile('file:///etc/passwd', 'image', options), /refused/);
    await assert.rejects(resolveInputFile('ftp://example.com/a.png', 'image', options), /uses ftp:/);
    await assert.rejects(resolveInputFile('data:image/png;base64,AAAA', 'image', options), /uses data:/);
  });
});

describe('a file swapped for a symlink while it is checked', () => {
  test('never lets an expert read outside the allowed places, whether the file or its folder is swapped', async () => {
    const race = join(scratch, 'race');
    const outside = join(scratch, 'race-outside');
    await mkdir(join(race, 'real-folder'), { recursive: true });
    await mkdir(outside, { recursive: true });
    const secret = tinyPng(255, 0, 0);
    await writeFile(join(outside, 'photo.png'), secret);
    await writeFile(join(race, 'photo.png'), png);
    await writeFile(join(race, 'real-folder', 'photo.png'), png);
    await symlink(join(race, 'real-folder'), join(race, 'folder'));
    // Another process swaps, as fast as it can: race/photo.png between a file and a symlink to the secret,
    // and race/folder between the real folder and a symlink to the folder holding the secret.
    const swapper = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); const [race, outside] = process.argv.slice(1);
         const swap = (link, target) => { fs.rmSync(link + '.new', { force: true }); fs.symlinkSync(target, link + '.new'); fs.renameSync(link + '.new', link); };
         const good = fs.readFileSync(race + '/real-folder/photo.png');
         for (;;) {
           swap(race + '/photo.png', outside + '/photo.png');
           swap(race + '/folder', outside);
           fs.writeFileSync(race + '/photo.png.file', good); fs.renameSync(race + '/photo.png.file', race + '/photo.png');
           swap(race + '/folder', race + '/real-folder');
         }`,
        race,
        outside,
      ],
      { stdio: 'ignore' },
    );
    try {
      const directory = createArtifactDirectory(join(scratch, 'out-race'));
      const options = { policy: policy({ cwd: race }), directory, signal: new AbortController().signal };
      let read = 0;
      let refused = 0;
      for (let attempt = 0; attempt < 150; attempt++) {
        for (const name of ['photo.png', 'folder/photo.png']) {
          try {
            const file = await resolveInputFile(name, 'image', options);
            // What an expert would read, some time after the check.
            await new Promise((resolve) => setImmediate(resolve));
            const bytes = await readFile(file.path);
            assert.ok(!bytes.equals(secret), `attempt ${attempt}: ${name} read the file outside`);
            assert.deepEqual(bytes, png);
            read++;
          } catch (error) {
            if (error instanceof assert.AssertionError) throw error;
            assert.match((error as Error).message, /refused|not found|changed while it was read/);
            refused++;
          }
        }
      }
      assert.ok(read > 0, 'some attempts saw the real file');
      assert.ok(refused > 0, 'some attempts saw the swap');
    } finally {
      swapper.kill();
    }
  });
});

describe('isPublicAddress', () => {
  test('only globally routable unicast addresses count as public', () => {
    const verdicts = Object.fromEntries(
      [
        '8.8.8.8',
        '2606:4700:4700::1111',
        '127.0.0.1',
        '10.1.2.3',
        '172.16.0.1',
        '192.168.1.1',
        '169.254.169.254',
        '100.64.0.1',
        '0.0.0.0',
        '224.0.0.1',
        '255.255.255.255',
        '::1',
        '::',
        'fe80::1',
        'fd00::1',
        'ff02::1',
        '::ffff:127.0.0.1',
        '::ffff:8.8.8.8',
        'not-an-address',
      ].map((address) => [address, isPublicAddress(address)]),
    );
    assert.deepEqual(verdicts, {
      '8.8.8.8': true,
      '2606:4700:4700::1111': true,
      '127.0.0.1': false,
      '10.1.2.3': false,
      '172.16.0.1': false,
      '192.168.1.1': false,
      '169.254.169.254': false,
      '100.64.0.1': false,
      '0.0.0.0': false,
      '224.0.0.1': false,
      '255.255.255.255': false,
      '::1': false,
      '::': false,
      'fe80::1': false,
      'fd00::1': false,
      'ff02::1': false,
      '::ffff:127.0.0.1': false,
      '::ffff:8.8.8.8': true,
      'not-an-address': false,
    });
  });
});

describe('URL inputs', () => {
  let server: Server;
  let origin: string;
  let port: number;
  const hits: string[] = [];

  before(async () => {
    server = createServer((request, response) => {
      hits.push(request.url ?? '');
      switch (request.url) {
        case '/cat.png':
          response.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
          response.end(png);
          return;
        case '/download?id=7':
          response.writeHead(200, { 'content-type': 'application/octet-stream' });
          response.end(png);
          return;
        case '/not-an-image':
          response.writeHead(200, { 'content-type': 'application/octet-stream' });
          response.end('just some text that is not an image at all');
          return;
        case '/pdf-as-png':
          response.writeHead(200, { 'content-type': 'image/png' });
          response.end('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');
          return;
        case '/page':
          response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          response.end('<html>hello</html>');
          return;
        case '/huge.png': {
          // No Content-Length: only counting the bytes as they arrive can stop this.
          response.writeHead(200, { 'content-type': 'image/png' });
          const block = Buffer.alloc(64 * 1024, 1);
          let sent = 0;
          const pump = () => {
            while (sent < 100 && response.write(block)) sent++;
            if (sent < 100) response.once('drain', pump);
            else response.end();
          };
          response.on('error', () => {});
          pump();
          return;
        }
        case '/declared-huge.png':
          response.writeHead(200, { 'content-type': 'image/png', 'content-length': 50_000_000 });
          response.write(png);
          return;
        case '/missing.png':
          response.writeHead(404);
          response.end();
          return;
        case '/slow.png':
          response.writeHead(200, { 'content-type': 'image/png' });
          response.write(png.subarray(0, 10));
          return;
        case '/to-cat':
          response.writeHead(302, { location: '/cat.png' });
          response.end();
          return;
        case '/to-localhost':
          response.writeHead(302, { location: `http://localhost:${port}/cat.png` });
          response.end();
          return;
        case '/to-metadata':
          response.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' });
          response.end();
          return;
        case '/bad%E0%A4%A.png':
        case '/100%.png':
          response.writeHead(200, { 'content-type': 'image/png' });
          response.end(png);
          return;
        case '/loop':
          response.writeHead(302, { location: '/loop' });
          response.end();
          return;
        default:
          response.writeHead(404);
          response.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    origin = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  let outputCounter = 0;
  function fetchOptions(overrides: Partial<InputPolicy> = {}) {
    const outputDir = join(scratch, `out-${++outputCounter}`);
    return {
      outputDir,
      options: {
        policy: policy(overrides),
        directory: createArtifactDirectory(outputDir),
        signal: new AbortController().signal,
      },
    };
  }

  test('with private URLs allowed, an image is downloaded into the run folder', async () => {
    const { outputDir, options } = fetchOptions({ allowPrivateUrls: true });
    const file = await resolveInputFile(`${origin}/cat.png`, 'image', options);
    assert.deepEqual(file, { path: join(outputDir, 'inputs', 'cat.png'), mimeType: 'image/png' });
    assert.deepEqual(await readFile(file.path), png);
  });

  test('a URL whose file name has a malformed %-escape is downloaded under the name as written', async () => {
    const { options } = fetchOptions({ allowPrivateUrls: true });
    for (const [path, name] of [
      ['/bad%E0%A4%A.png', 'bad'],
      ['/100%.png', '100'],
    ]) {
      const file = await resolveInputFile(`${origin}${path}`, 'image', options);
      assert.equal(file.mimeType, 'image/png');
      assert.match(file.path, new RegExp(`inputs/${name}[^/]*\\.png$`));
      assert.deepEqual(await readFile(file.path), png);
    }
  });

  test('a generic content type is accepted when the bytes are of the right kind', async () => {
    const { options } = fetchOptions({ allowPrivateUrls: true });
    const file = await resolveInputFile(`${origin}/download?id=7`, 'image', options);
    assert.equal(file.mimeType, 'image/png');
    assert.match(file.path, /inputs\/download\.png$/);
    await assert.rejects(
      resolveInputFile(`${origin}/not-an-image`, 'image', options),
      /does not look like an image/,
    );
  });

  test('loopback URLs are refused without allowPrivateUrls, by address and by name, before any request', async () => {
    const before = hits.length;
    const { options } = fetchOptions();
    await assert.rejects(
      resolveInputFile(`${origin}/cat.png`, 'image', options),
      /refused: .* resolves to the non-public address 127\.0\.0\.1/,
    );
    await assert.rejects(
      resolveInputFile(`http://localhost:${port}/cat.png`, 'image', options),
      /refused: .* resolves to the non-public address/,
    );
    await assert.rejects(
      resolveInputFile('http://[::1]:9/cat.png', 'image', options),
      /non-public address ::1/,
    );
    assert.equal(hits.length, before, 'the server was never asked');
  });

  test('a download past the size limit is stopped and nothing is left behind', async () => {
    const { outputDir, options } = fetchOptions({ allowPrivateUrls: true, maxDownloadBytes: 200_000 });
    await assert.rejects(
      resolveInputFile(`${origin}/huge.png`, 'image', options),
      /larger than the 200000-byte limit/,
    );
    await assert.rejects(
      resolveInputFile(`${origin}/declared-huge.png`, 'image', options),
      /50000000 bytes, over the/,
    );
    assert.deepEqual(await readdir(join(outputDir, 'inputs')).catch(() => []), []);
  });

  test('a URL whose content type does not match the argument kind is refused', async () => {
    const { options } = fetchOptions({ allowPrivateUrls: true });
    await assert.rejects(resolveInputFile(`${origin}/page`, 'image', options), /is text\/html, not an image/);
    await assert.rejects(resolveInputFile(`${origin}/cat.png`, 'audio', options), /is image\/png, not audio/);
    await assert.rejects(
      resolveInputFile(`${origin}/pdf-as-png`, 'image', options),
      /does not look like an image \(content is application\/pdf\)/,
    );
  });

  test('credentials in a URL never appear in messages, and a malformed URL is refused', async () => {
    const { options } = fetchOptions();
    await assert.rejects(
      resolveInputFile(`http://alice:s3cr3tpass@127.0.0.1:${port}/cat.png`, 'image', options),
      (error: Error) => {
        assert.match(error.message, /refused: http:\/\/127\.0\.0\.1:\d+\/cat\.png resolves/);
        assert.doesNotMatch(error.message, /s3cr3tpass|alice/);
        return true;
      },
    );
    await assert.rejects(
      resolveInputFile('http://exa mple.com/a.png', 'image', options),
      /is not a valid URL/,
    );
  });

  test('an HTTP error status is reported', async () => {
    const { options } = fetchOptions({ allowPrivateUrls: true });
    await assert.rejects(resolveInputFile(`${origin}/missing.png`, 'image', options), /failed: HTTP 404/);
  });

  test('a server that stalls is given up on after the URL timeout', async () => {
    const { options } = fetchOptions({ allowPrivateUrls: true, urlTimeoutMs: 300 });
    await assert.rejects(resolveInputFile(`${origin}/slow.png`, 'image', options), /timed out after 300 ms/);
  });

  test('redirects are followed, but not to a private address or more than five times', async () => {
    // The test server is trusted by name, so the redirect's own target is what gets checked.
    const { options } = fetchOptions({ allowedHosts: [`127.0.0.1:${port}`] });
    const file = await resolveInputFile(`${origin}/to-cat`, 'image', options);
    assert.equal(file.mimeType, 'image/png');
    await assert.rejects(
      resolveInputFile(`${origin}/to-localhost`, 'image', options),
      /refused: http:\/\/localhost:\d+\/cat\.png resolves to the non-public address/,
    );
    await assert.rejects(
      resolveInputFile(`${origin}/to-metadata`, 'image', options),
      /refused: http:\/\/169\.254\.169\.254\/latest\/meta-data\/ resolves to the non-public address/,
    );
    await assert.rejects(resolveInputFile(`${origin}/loop`, 'image', options), /redirects more than 5 times/);
  });

  test('a cancelled run stops a download', async () => {
    const { options } = fetchOptions({ allowPrivateUrls: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(
      resolveInputFile(`${origin}/slow.png`, 'image', { ...options, signal: controller.signal }),
      {
        code: 'cancelled',
      },
    );
  });
});
