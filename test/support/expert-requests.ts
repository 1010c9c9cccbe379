// Helpers for the backends' tests: a real artifact sink on a temporary folder, requests, and the fixture paths.
import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceRequest } from '../../src/core/backend.js';
import type { Artifact, ArtifactSink, ResolvedInputs } from '../../src/core/output.js';
import type { TaskName } from '../../src/core/tasks.js';

export { FIXTURES, fixture } from './fixtures.js';

/** Writes artifacts into a fresh temporary folder, numbering them as a run folder would. */
export function temporarySink(): ArtifactSink & { dir: string; written: Artifact[] } {
  const dir = mkdtempSync(join(tmpdir(), 'jarvis-expert-'));
  let counter = 0;
  const written: Artifact[] = [];
  return {
    dir,
    written,
    async write(file): Promise<Artifact> {
      counter += 1;
      const path = join(dir, `artifact-${counter}.${file.extension.replace(/^\./, '')}`);
      await writeFile(path, file.bytes);
      const artifact: Artifact = {
        kind: file.kind,
        path,
        mimeType: file.mimeType,
        ...(file.label === undefined ? {} : { label: file.label }),
      };
      written.push(artifact);
      return artifact;
    },
  };
}

/** A request as the executor makes it, writing into a temporary sink. */
export function inferenceRequest(
  task: TaskName,
  modelId: string,
  inputs: ResolvedInputs,
  extra: Partial<InferenceRequest> = {},
): InferenceRequest & { artifacts: ReturnType<typeof temporarySink> } {
  return {
    task,
    modelId,
    inputs,
    artifacts: temporarySink(),
    signal: new AbortController().signal,
    ...extra,
  } as InferenceRequest & { artifacts: ReturnType<typeof temporarySink> };
}
