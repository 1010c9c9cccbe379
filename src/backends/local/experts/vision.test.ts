import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { fixture, inferenceRequest, temporarySink } from '../../../../test/support/expert-requests.js';
import { pngDeclaring } from '../../../../test/support/hostile-media.js';
import { createLocalBackend } from '../index.js';

// One backend for the whole file: the models load once and later tests run warm.
const backend = createLocalBackend();

interface DetectionData {
  detections: {
    label: string;
    score: number;
    box: { xmin: number; ymin: number; xmax: number; ymax: number };
  }[];
  counts: Record<string, number>;
  width: number;
  height: number;
}

const image = (name: string) => ({ image: { path: fixture('images', name), mimeType: 'image/jpeg' } });

/** Detects objects in a fixture image, keeping the progress messages the backend reports on the way. */
async function detectWatchingProgress(name: string) {
  const progress: string[] = [];
  const output = await backend.infer(
    inferenceRequest('object-detection', 'human-centernet', image(name), {
      onProgress: (message) => progress.push(message),
    }),
  );
  return { output, progress };
}

describe('object detection (human-centernet)', () => {
  test('finds the zebra in b.jpg and draws it on an annotated PNG', async () => {
    const { output, progress } = await detectWatchingProgress('b.jpg');
    const data = output.data as DetectionData;
    assert.ok((data.counts.zebra ?? 0) >= 1, `counts: ${JSON.stringify(data.counts)}`);
    assert.match(output.text ?? '', /\b1 zebra\b/);
    assert.ok(
      progress.some((message) => message.startsWith('loading centernet')),
      progress.join(' | '),
    );
    const zebra = data.detections.find((detection) => detection.label === 'zebra');
    assert.ok(
      zebra &&
        zebra.box.xmin < zebra.box.xmax &&
        zebra.box.xmax <= data.width &&
        zebra.box.ymax <= data.height,
    );
    const artifact = output.artifacts?.[0];
    assert.equal(artifact?.mimeType, 'image/jpeg');
    assert.match(artifact?.path ?? '', /\.jpg$/);
    const meta = await sharp(await readFile(artifact?.path ?? '')).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, data.width);
  });

  test('counts zebras and a giraffe in f.jpg, most frequent first', async () => {
    const { output, progress } = await detectWatchingProgress('f.jpg');
    const data = output.data as DetectionData;
    assert.ok((data.counts.zebra ?? 0) >= 2, `counts: ${JSON.stringify(data.counts)}`);
    assert.ok((data.counts.giraffe ?? 0) >= 1, `counts: ${JSON.stringify(data.counts)}`);
    assert.match(output.text ?? '', /^\d+ zebras, \d+ giraffes?/);
    assert.deepEqual(progress, [], 'a warm model reports no loading');
  });

  test('concurrent detections on the same model all succeed with their own results', async () => {
    const outputs = await Promise.all(
      ['b.jpg', 'f.jpg', 'b.jpg'].map((name) =>
        backend.infer(inferenceRequest('object-detection', 'human-centernet', image(name))),
      ),
    );
    const zebras = outputs.map((output) => (output.data as DetectionData).counts.zebra ?? 0);
    assert.equal(zebras[0], zebras[2]);
    assert.ok((zebras[1] ?? 0) >= 2);
  });

  test('a truncated photo is said to be truncated or damaged, by its name', async () => {
    const { dir } = temporarySink();
    const path = join(dir, 'broken.jpg');
    await writeFile(path, (await readFile(fixture('images', 'b.jpg'))).subarray(0, 20_000));
    await assert.rejects(
      backend.infer(
        inferenceRequest('object-detection', 'human-centernet', { image: { path, mimeType: 'image/jpeg' } }),
      ),
      {
        code: 'input',
        message: /^broken\.jpg cannot be read as an image: the file is truncated or damaged \(/,
      },
    );
  });

  test('a file that is not an image fails as bad input, named, with what the decoder said', async () => {
    await assert.rejects(
      backend.infer(
        inferenceRequest('object-detection', 'human-centernet', {
          image: { path: fixture('audio', 'transcription'), mimeType: 'image/png' },
        }),
      ),
      { code: 'input', message: /^transcription cannot be read as an image \(/ },
    );
  });
});

interface PoseData {
  poses: {
    score: number;
    keypoints: { part: string; x: number; y: number; score: number }[];
    posture: string[];
  }[];
  width: number;
  height: number;
}

describe('body pose (human-movenet)', () => {
  test('finds a full skeleton of the player in messi5.jpg and draws it on black', async () => {
    const output = await backend.infer(
      inferenceRequest('openpose-control', 'human-movenet', image('messi5.jpg')),
    );
    const data = output.data as PoseData;
    assert.equal(data.poses.length, 1);
    const parts = new Set(data.poses[0]?.keypoints.map((keypoint) => keypoint.part));
    for (const part of [
      'nose',
      'leftShoulder',
      'rightShoulder',
      'leftHip',
      'rightHip',
      'leftKnee',
      'rightKnee',
    ]) {
      assert.ok(parts.has(part), `missing ${part}; found ${[...parts].join(', ')}`);
    }
    assert.ok(parts.size >= 14, `only ${parts.size} keypoints`);
    // The player's head is above his hips in the picture.
    const at = (part: string) => data.poses[0]?.keypoints.find((keypoint) => keypoint.part === part);
    assert.ok((at('nose')?.y ?? 0) < (at('leftHip')?.y ?? 0));
    assert.match(output.text ?? '', /1 person: \d+ of 17 body keypoints/);

    const artifact = output.artifacts?.[0];
    assert.equal(artifact?.label, 'pose skeleton');
    const { data: pixels, info } = await sharp(artifact?.path ?? '')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.equal(info.width, data.width);
    assert.equal(info.height, data.height);
    let black = 0;
    let coloured = 0;
    for (let index = 0; index < pixels.length; index += 3) {
      const sum = (pixels[index] ?? 0) + (pixels[index + 1] ?? 0) + (pixels[index + 2] ?? 0);
      if (sum === 0) black += 1;
      else if (sum > 150) coloured += 1;
    }
    const total = pixels.length / 3;
    assert.ok(black / total > 0.8, 'the background is black');
    assert.ok(coloured / total > 0.005, 'limbs are drawn');
  });

  test('an image without a person says so and still returns an empty skeleton image', async () => {
    const output = await backend.infer(inferenceRequest('openpose-control', 'human-movenet', image('b.jpg')));
    assert.equal((output.data as PoseData).poses.length, 0);
    assert.equal(output.text, 'No person found');
    assert.equal(output.artifacts?.length, 1);
  });
});

describe('person segmentation (human-selfie)', () => {
  test('masks the astronaut as a person and cuts her out on transparency', async (context) => {
    const [card] = await backend.listModels('image-segmentation');
    if (!card?.available) return context.skip(card?.reason);
    const output = await backend.infer(
      inferenceRequest('image-segmentation', 'human-selfie', image('astronaut.png')),
    );
    const data = output.data as {
      segments: { label: string; coverage: number }[];
      width: number;
      height: number;
    };
    assert.equal(data.segments[0]?.label, 'person');
    assert.ok((data.segments[0]?.coverage ?? 0) > 0.3, `coverage ${data.segments[0]?.coverage}`);
    assert.match(output.text ?? '', /^person: [\d.]+% of the image$/);
    const [mask, cutout] = output.artifacts ?? [];
    const maskMeta = await sharp(mask?.path ?? '').metadata();
    assert.deepEqual([maskMeta.width, maskMeta.height], [data.width, data.height]);
    const cutoutMeta = await sharp(cutout?.path ?? '').metadata();
    assert.equal(cutoutMeta.hasAlpha, true);
    // The astronaut sits in the middle of the picture: the mask is white there and black in a top corner.
    const grey = await sharp(mask?.path ?? '')
      .greyscale()
      .raw()
      .toBuffer();
    const at = (x: number, y: number) => grey[Math.round(y) * data.width + Math.round(x)] ?? 0;
    assert.ok(at(data.width * 0.45, data.height * 0.6) > 200);
    assert.ok(at(data.width * 0.98, 2) < 60);
  });

  test('does not call a zebra a person', async (context) => {
    const [card] = await backend.listModels('image-segmentation');
    if (!card?.available) return context.skip(card?.reason);
    const output = await backend.infer(
      inferenceRequest('image-segmentation', 'human-selfie', image('b.jpg')),
    );
    assert.match(output.text ?? '', /^No person found/);
    assert.notEqual((output.data as { segments: { label: string }[] }).segments[0]?.label, 'person');
  });
});

describe('canny edges (opencv-canny)', () => {
  test('draws white edges on black at the size of the input', async () => {
    const output = await backend.infer(
      inferenceRequest('canny-control', 'opencv-canny', image('messi5.jpg')),
    );
    const artifact = output.artifacts?.[0];
    assert.equal(artifact?.label, 'canny edges');
    const { data: pixels, info } = await sharp(artifact?.path ?? '')
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const source = await sharp(fixture('images', 'messi5.jpg')).metadata();
    assert.deepEqual([info.width, info.height], [source.width, source.height]);
    const white = pixels.filter((value) => value === 255).length;
    const black = pixels.filter((value) => value === 0).length;
    assert.equal(white + black, pixels.length, 'a binary edge map');
    const share = white / pixels.length;
    assert.ok(share > 0.01 && share < 0.2, `edge share ${share}`);
    assert.match(output.text ?? '', /^Canny edge map \([\d.]+% of pixels are edges\)\.$/);
  });

  test('a flat image has no edges', async () => {
    const path = `${temporarySink().dir}/grey.png`;
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } })
      .png()
      .toFile(path);
    const output = await backend.infer(
      inferenceRequest('canny-control', 'opencv-canny', { image: { path, mimeType: 'image/png' } }),
    );
    assert.equal((output.data as { edgeFraction: number }).edgeFraction, 0);
  });
});

describe('straight lines (opencv-hough-lines)', () => {
  test('finds the four sides of a drawn rectangle and draws them white on black', async () => {
    const path = `${temporarySink().dir}/frame.png`;
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240"><rect width="320" height="240" fill="#202020"/>' +
      '<rect x="60" y="40" width="200" height="160" fill="none" stroke="#f0f0f0" stroke-width="4"/></svg>';
    await sharp(Buffer.from(svg)).png().toFile(path);
    const output = await backend.infer(
      inferenceRequest('mlsd-control', 'opencv-hough-lines', { image: { path, mimeType: 'image/png' } }),
    );
    const { segments } = output.data as { segments: { x1: number; y1: number; x2: number; y2: number }[] };
    const near = (a: number, b: number) => Math.abs(a - b) <= 6;
    const horizontal = segments.filter((s) => near(s.y1, s.y2) && Math.abs(s.x2 - s.x1) > 100);
    const vertical = segments.filter((s) => near(s.x1, s.x2) && Math.abs(s.y2 - s.y1) > 80);
    assert.ok(
      horizontal.some((s) => near(s.y1, 40)) && horizontal.some((s) => near(s.y1, 200)),
      JSON.stringify(segments),
    );
    assert.ok(
      vertical.some((s) => near(s.x1, 60)) && vertical.some((s) => near(s.x1, 260)),
      JSON.stringify(segments),
    );
    const grey = await sharp(output.artifacts?.[0]?.path ?? '')
      .greyscale()
      .raw()
      .toBuffer();
    assert.ok((grey[120 * 320 + 160] ?? 255) < 30, 'the inside of the rectangle stays black');
    assert.ok(
      (grey[40 * 320 + 160] ?? 0) > 200 ||
        (grey[41 * 320 + 160] ?? 0) > 200 ||
        (grey[39 * 320 + 160] ?? 0) > 200,
    );
  });
});

describe('images over the pixel limit', () => {
  test('every local image expert refuses a 16000×16000 PNG from its header, naming the size and the limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jarvis-huge-image-'));
    try {
      const path = join(dir, 'huge.png');
      await writeFile(path, pngDeclaring(16_000, 16_000));
      const experts = [
        ['object-detection', 'human-centernet'],
        ['openpose-control', 'human-movenet'],
        ['canny-control', 'opencv-canny'],
        ['mlsd-control', 'opencv-hough-lines'],
        ['image-to-text', 'tesseract-ocr'],
      ] as const;
      for (const [task, expert] of experts) {
        const started = performance.now();
        await assert.rejects(
          backend.infer(inferenceRequest(task, expert, { image: { path, mimeType: 'image/png' } })),
          {
            code: 'input',
            message: /the image is 16000×16000 \(256\.0 megapixels\), over the limit of 40 megapixels/,
          },
          expert,
        );
        assert.ok(performance.now() - started < 3_000, `${expert} decided from the header`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
