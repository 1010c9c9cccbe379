import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { fixture } from '../../test/support/fixtures.js';
import { captionPlaces, drawBoxes, drawOnPixels } from './draw-boxes.js';

test('captions stay inside the image and off each other, even for crowded boxes at the edges', () => {
  const width = 640;
  const height = 400;
  const boxes = [
    ...Array.from({ length: 6 }, (_, index) => ({
      box: { xmin: 600 - index * 3, ymin: index * 2, xmax: 640, ymax: 120 },
      caption: `traffic light ${90 - index}%`,
    })),
    { box: { xmin: 0, ymin: 380, xmax: 50, ymax: 400 }, caption: 'person 88%' },
    { box: { xmin: 10, ymin: 0, xmax: 300, ymax: 300 }, caption: 'zebra 97%' },
  ];
  const places = captionPlaces(width, height, boxes, 20);
  for (const [index, place] of places.entries()) {
    assert.ok(place.x >= 0 && place.x + place.width <= width, `caption ${index} leaves the image sideways`);
    assert.ok(
      place.y >= 0 && place.y + place.height <= height,
      `caption ${index} leaves the image vertically`,
    );
    for (const other of places.slice(0, index)) {
      const apart =
        place.x >= other.x + other.width ||
        other.x >= place.x + place.width ||
        place.y >= other.y + other.height ||
        other.y >= place.y + place.height;
      assert.ok(apart, `caption ${index} covers an earlier one`);
    }
  }
});

test('the drawn image keeps the photo upright at its own size', async () => {
  const path = fixture('images', 'b.jpg');
  const { width, height } = await sharp(path).metadata();
  const jpeg = await drawBoxes(path, [
    { label: 'zebra', score: 0.9, box: { xmin: 300, ymin: 40, xmax: 720, ymax: 660 } },
  ]);
  const drawn = await sharp(jpeg).metadata();
  assert.deepEqual([drawn.format, drawn.width, drawn.height], ['jpeg', width, height]);
});

test('a box is drawn in its colour on its edges, with its caption, and the inside of the box is left as it was', async () => {
  const width = 200;
  const height = 150;
  const image = { pixels: new Uint8Array(width * height * 3).fill(128), width, height };
  await drawOnPixels(image, [
    { label: 'zebra', score: 0.97, box: { xmin: 50, ymin: 60, xmax: 150, ymax: 140 } },
  ]);
  const at = (x: number, y: number) => [
    ...image.pixels.subarray((y * width + x) * 3, (y * width + x) * 3 + 3),
  ];
  // The first palette colour, #e6194b, on the left edge; grey untouched in the middle of the box.
  assert.deepEqual(at(50, 100), [0xe6, 0x19, 0x4b]);
  assert.deepEqual(at(100, 100), [128, 128, 128]);
  // The caption sits above the box: its coloured label covers the grey there.
  assert.notDeepEqual(at(55, 50), [128, 128, 128]);
  assert.deepEqual(at(5, 5), [128, 128, 128]);
});
