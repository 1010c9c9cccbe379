import type { Artifact, ArtifactSink } from '../../core/output.js';

/** Stores a PNG the backend drew (a mask, an edge map, annotated boxes) as one of the task's images. */
export function writePng(artifacts: ArtifactSink, bytes: Uint8Array, label: string): Promise<Artifact> {
  return artifacts.write({ kind: 'image', bytes, mimeType: 'image/png', extension: 'png', label });
}

/** Stores a JPEG the backend drew on a photo (annotated boxes) as one of the task's images. */
export function writeJpeg(artifacts: ArtifactSink, bytes: Uint8Array, label: string): Promise<Artifact> {
  return artifacts.write({ kind: 'image', bytes, mimeType: 'image/jpeg', extension: 'jpg', label });
}
