import type { InferenceBackend, InferenceRequest, ModelCard } from '../../core/backend.js';
import {
  errorMessage,
  InferenceError,
  JarvisError,
  ModelUnavailableError,
  NoSuchModelError,
} from '../../core/errors.js';
import type { ControllerModel } from '../../core/llm.js';
import type { TaskOutput } from '../../core/output.js';
import type { TaskName } from '../../core/tasks.js';
import type { ExpertContext, LocalExpert } from './expert.js';
import { LOCAL_EXPERTS } from './registry.js';
import { closeAllModels } from './support/lazy.js';

export type { ExpertContext, LocalExpert } from './expert.js';
export { LOCAL_EXPERTS } from './registry.js';

export const LOCAL_BACKEND_ID = 'local';

export interface LocalBackendOptions {
  /** Used only by document-question-answering, which OCRs the page and asks the controller to read it. */
  controller?: ControllerModel;
  log?: (message: string) => void;
  /** The experts to offer; all registered ones by default. */
  experts?: readonly LocalExpert[];
}

/** Offline experts whose weights ship inside npm or Debian packages. */
export function createLocalBackend(options: LocalBackendOptions = {}): InferenceBackend {
  const experts = options.experts ?? LOCAL_EXPERTS;
  const context: ExpertContext = { controller: options.controller, log: options.log ?? (() => {}) };
  // Availability checks run a binary or resolve a package: once per process is enough.
  const availability = new Map<string, Promise<string | undefined>>();

  const reasonFor = (expert: LocalExpert): Promise<string | undefined> => {
    let reason = availability.get(expert.id);
    if (!reason) {
      reason = expert.checkAvailable
        ? expert
            .checkAvailable(context)
            .catch((error: unknown) => `availability check failed: ${errorMessage(error)}`)
        : Promise.resolve(undefined);
      availability.set(expert.id, reason);
    }
    return reason;
  };

  const cardOf = async (expert: LocalExpert): Promise<ModelCard> => {
    const reason = await reasonFor(expert);
    return {
      id: expert.id,
      backend: LOCAL_BACKEND_ID,
      task: expert.task,
      description: expert.description,
      source: 'built-in',
      ...(expert.sizeBytes === undefined ? {} : { sizeBytes: expert.sizeBytes }),
      ...(expert.tags === undefined ? {} : { tags: expert.tags }),
      local: true,
      available: reason === undefined,
      ...(reason === undefined ? {} : { reason }),
    };
  };

  return {
    specificationVersion: 'v1',
    id: LOCAL_BACKEND_ID,
    supports(task: TaskName): boolean {
      return experts.some((expert) => expert.task === task);
    },
    async listModels(task?: TaskName): Promise<ModelCard[]> {
      return Promise.all(experts.filter((expert) => task === undefined || expert.task === task).map(cardOf));
    },
    async infer(request: InferenceRequest): Promise<TaskOutput> {
      const errorContext = { task: request.task, modelId: request.modelId, backend: LOCAL_BACKEND_ID };
      const expert = experts.find(
        (candidate) => candidate.id === request.modelId && candidate.task === request.task,
      );
      if (!expert) {
        const available = experts.filter((candidate) => candidate.task === request.task).map((c) => c.id);
        throw new NoSuchModelError(request.modelId, available, errorContext);
      }
      const reason = await reasonFor(expert);
      if (reason !== undefined)
        throw new ModelUnavailableError(`${expert.id} is unavailable: ${reason}`, errorContext);
      // Loading messages reach the user's progress view and the backend's log alike.
      const onProgress = (message: string) => {
        context.log(`local:${expert.id}: ${message}`);
        request.onProgress?.(message);
      };
      try {
        return await expert.run({ ...request, onProgress }, context);
      } catch (error) {
        if (error instanceof JarvisError) throw error;
        throw new InferenceError(`${expert.id} failed: ${errorMessage(error)}`, {
          cause: error,
          context: errorContext,
        });
      }
    },
    async close(): Promise<void> {
      // Models are shared by every local backend of the process; closing ends their worker threads.
      await closeAllModels();
    },
  };
}
