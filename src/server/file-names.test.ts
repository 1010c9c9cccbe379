import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredUpload } from '../store/index.js';
import { uploadNames } from './file-names.js';

const upload = (id: string, name: string, path: string, kind: StoredUpload['kind'] = 'image'): StoredUpload =>
  ({ id, name, path, kind, mimeType: `${kind}/x`, size: 1, createdAt: 0 }) as StoredUpload;

test('uploads keep the names people gave them, made unique within the conversation', () => {
  const names = uploadNames([
    upload('u1', 'kite.jpg', '/data/uploads/u1.jpg'),
    upload('u2', 'Kite.jpg', '/data/uploads/u2.jpg'),
    upload('u3', 'holiday/beach photo.png', '/data/uploads/u3.png'),
    upload('u4', 'image', '/data/uploads/u4.png'),
    upload('u5', 'image', '/data/uploads/u5.webp'),
    upload('u6', 'notes', '/data/uploads/u6.jpg'),
    upload('u7', 'speech.txt', '/data/uploads/u7.wav', 'audio'),
    upload('u8', '../../etc/passwd"`.jpg', '/data/uploads/u8.jpg'),
  ]);
  assert.deepEqual(
    [...names.values()],
    [
      'kite.jpg',
      'Kite (2).jpg',
      'beach photo.png',
      'image-1.png',
      'image-2.webp',
      'notes.jpg',
      'speech.txt.wav',
      'passwd.jpg',
    ],
  );
});
