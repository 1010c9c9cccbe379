import { mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Artifact, ArtifactSink } from '../core/index.js';

/**
 * The folder of one run. It hands out unique, readable file names ("0-object-detection.png",
 * "0-object-detection-2.png") so that a user browsing the folder can tell which task made which file,
 * and it creates the folder only when something is written, so runs that produce nothing leave nothing.
 */
export interface ArtifactDirectory {
  readonly path: string;
  /** The sink handed to the backend that runs `taskId`. */
  sinkForTask(taskId: number, task: string): ArtifactSink;
  /**
   * A fresh, unused path `<folder>/<stem>.<extension>` (or `<stem>-2.<extension>`, ...); the folder
   * exists when this returns.
   */
  reservePath(stem: string, extension: string, subfolder?: string): string;
}

/** Keeps only characters that are safe and readable in a file name on every platform. */
export function safeFileStem(raw: string): string {
  const cleaned = raw
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80);
  return cleaned.length > 0 ? cleaned : 'file';
}

export function safeExtension(raw: string): string {
  const cleaned = raw
    .replace(/^\.+/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 10);
  return cleaned.length > 0 ? cleaned : 'bin';
}

export function createArtifactDirectory(outputDir: string): ArtifactDirectory {
  const root = resolve(outputDir);
  // Names handed out by this run, including reserved ones not yet written: two tasks finishing at the same
  // moment must not be given the same name, and a file on disk from an earlier run must not be overwritten.
  const taken = new Set<string>();
  const createdFolders = new Set<string>();

  function ensureFolder(folder: string): void {
    if (createdFolders.has(folder)) return;
    mkdirSync(folder, { recursive: true });
    createdFolders.add(folder);
  }

  function candidate(folder: string, stem: string, extension: string, attempt: number): string {
    return join(folder, attempt === 1 ? `${stem}.${extension}` : `${stem}-${attempt}.${extension}`);
  }

  function reservePath(stem: string, extension: string, subfolder?: string): string {
    const folder = subfolder === undefined ? root : join(root, safeFileStem(subfolder));
    ensureFolder(folder);
    const cleanStem = safeFileStem(stem);
    const cleanExtension = safeExtension(extension);
    for (let attempt = 1; ; attempt++) {
      const path = candidate(folder, cleanStem, cleanExtension, attempt);
      if (taken.has(path)) continue;
      taken.add(path);
      return path;
    }
  }

  async function writeExclusive(path: string, bytes: Uint8Array): Promise<boolean> {
    try {
      // `wx` refuses to overwrite a file that already exists (from an earlier run into the same folder).
      await writeFile(path, bytes, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  return {
    path: root,
    reservePath,
    sinkForTask(taskId: number, task: string): ArtifactSink {
      const stem = `${taskId}-${task}`;
      return {
        async write(file): Promise<Artifact> {
          await mkdir(root, { recursive: true });
          createdFolders.add(root);
          for (;;) {
            const path = reservePath(stem, file.extension);
            if (await writeExclusive(path, file.bytes)) {
              const artifact: Artifact = { kind: file.kind, path, mimeType: file.mimeType };
              if (file.label !== undefined) artifact.label = file.label;
              return artifact;
            }
          }
        },
      };
    },
  };
}
