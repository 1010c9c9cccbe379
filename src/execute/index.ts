// Stage 3, task execution: runs a plan's tasks on the chosen backends and records every result.
export { type ArtifactDirectory, createArtifactDirectory } from './artifacts.js';
export {
  type FetchOptions,
  type FileKind,
  fetchUrlInput,
  type InputPolicy,
  isPublicAddress,
  resolveInputFile,
  resolveLocalFile,
} from './inputs.js';
export { type ResolvedArguments, referencedTasks, resolveArguments } from './resolve.js';
export { type ExecuteOptions, executePlan } from './scheduler.js';
