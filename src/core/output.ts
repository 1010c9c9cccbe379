import type { ResourceKind } from './tasks.js';

/** A file a task produced (or an input file), stored in the run's folder. */
export interface Artifact {
  kind: Exclude<ResourceKind, 'text'>;
  /** Absolute path on disk. */
  path: string;
  mimeType: string;
  /** Short human description ("annotated detections", "skeleton"). */
  label?: string;
}

/** What an expert returns. Every field is optional; a task fills in what it has. */
export interface TaskOutput {
  /** Human-readable result ("2 zebras, 1 giraffe", a transcript, a caption). */
  text?: string;
  /** Structured result: labels, boxes, entities, keypoints. JSON-serialisable. */
  data?: unknown;
  artifacts?: Artifact[];
  /**
   * Set when the expert worked but found nothing of what it looks for ("no text was found in page.png", "no
   * objects were found in a.jpg"): `text` says so for the answer, and a task that would read this task's text
   * is skipped with this reason instead of being fed the sentence.
   */
  nothingFound?: string;
  /**
   * How the expert got its result, in a few words for the answer ("scene text: 2 lines found and read by
   * PaddleOCR"), kept out of `text`, which a next task reads (speech would read it aloud).
   */
  how?: string;
}

/** A file handed to an expert. */
export interface InputFile {
  path: string;
  mimeType: string;
  /** The file's name as the user knows it (the expert may read a private copy under another name). */
  name?: string;
}

/**
 * What an expert returns when it worked and found nothing: the fact as data (`nothingFound`, which skips the
 * tasks that would read this one's text) and the same fact as a sentence for the answer.
 */
export function foundNothing(what: string, data: unknown = [], rest: Partial<TaskOutput> = {}): TaskOutput {
  return { text: `${what.charAt(0).toUpperCase()}${what.slice(1)}.`, data, nothingFound: what, ...rest };
}

/** The name to tell the user a file by: the one they gave it, else the file's own. */
export function inputName(file: InputFile | undefined, fallback = 'the file'): string {
  if (!file) return fallback;
  return file.name ?? file.path.split(/[\\/]/).at(-1) ?? file.path;
}

export type ResolvedInputs = {
  text?: string;
  image?: InputFile;
  audio?: InputFile;
  video?: InputFile;
};

/** Where an expert writes the files it generates; the run decides where they live. */
export interface ArtifactSink {
  write(file: {
    kind: Artifact['kind'];
    bytes: Uint8Array;
    mimeType: string;
    extension: string;
    label?: string;
  }): Promise<Artifact>;
}
