import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createArtifactDirectory } from './artifacts.js';

const scratch = await mkdtemp(join(tmpdir(), 'jarvis-artifacts-'));
after(() => rm(scratch, { recursive: true, force: true }));

describe('artifact directory', () => {
  test('the folder appears only when the first file is written', async () => {
    const outputDir = join(scratch, 'lazy');
    const directory = createArtifactDirectory(outputDir);
    const sink = directory.sinkForTask(0, 'object-detection');
    assert.equal(existsSync(outputDir), false);
    const artifact = await sink.write({
      kind: 'image',
      bytes: new Uint8Array([1, 2, 3]),
      mimeType: 'image/png',
      extension: '.PNG',
      label: 'boxes',
    });
    assert.deepEqual(artifact, {
      kind: 'image',
      path: join(outputDir, '0-object-detection.png'),
      mimeType: 'image/png',
      label: 'boxes',
    });
    assert.deepEqual([...(await readFile(artifact.path))], [1, 2, 3]);
  });

  test('names stay readable and unique, even for simultaneous writes and files left from before', async () => {
    const outputDir = join(scratch, 'unique');
    const directory = createArtifactDirectory(outputDir);
    const sink = directory.sinkForTask(3, 'text-to-speech');
    const first = await sink.write({
      kind: 'audio',
      bytes: new Uint8Array([0]),
      mimeType: 'audio/wav',
      extension: 'wav',
    });
    assert.equal(first.path, join(outputDir, '3-text-to-speech.wav'));
    await writeFile(join(outputDir, '3-text-to-speech-2.wav'), 'from an earlier run');
    const written = await Promise.all(
      [1, 2, 3].map((n) =>
        sink.write({ kind: 'audio', bytes: new Uint8Array([n]), mimeType: 'audio/wav', extension: 'wav' }),
      ),
    );
    // Which write gets which number depends on timing; that each gets its own, and none overwrote, does not.
    assert.deepEqual(
      written.map((artifact) => artifact.path).sort(),
      [3, 4, 5].map((n) => join(outputDir, `3-text-to-speech-${n}.wav`)),
    );
    assert.equal(await readFile(join(outputDir, '3-text-to-speech-2.wav'), 'utf8'), 'from an earlier run');
  });

  test('odd task names and extensions cannot escape the folder', async () => {
    const outputDir = join(scratch, 'odd');
    const directory = createArtifactDirectory(outputDir);
    const artifact = await directory
      .sinkForTask(1, '../../evil')
      .write({ kind: 'image', bytes: new Uint8Array([1]), mimeType: 'image/png', extension: '../sh' });
    assert.equal(artifact.path, join(outputDir, '1-evil.sh'));
    assert.equal(
      directory.reservePath('photo of a cat', 'jpg', '../inputs'),
      join(outputDir, 'inputs', 'photo-of-a-cat.jpg'),
    );
  });
});
