/**
 * An expert worker thread: builds the backend a job names (once per worker, so its models stay loaded
 * between jobs), runs the job, and answers with messages. Cancellation is the main thread's business: it
 * terminates this thread, which is the only way to stop a synchronous model call.
 */
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { InferenceBackend } from '../../core/backend.js';
import type { Artifact, ArtifactSink } from '../../core/output.js';
import { onChildProcess } from '../../core/processes.js';
import { createLocalBackend } from '../local/index.js';
import { createTransformersBackend } from '../transformers/index.js';
import {
  type ArtifactFile,
  type MainToWorker,
  reviveError,
  serializeError,
  WORKER_TAG,
  type WorkerBackendSpec,
  type WorkerData,
  type WorkerToMain,
} from './protocol.js';

const port = parentPort;
if (!port) throw new Error('src/backends/pool/worker.ts runs only as a worker thread');

const post = (message: WorkerToMain, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/**
 * Experts yield the CPU to the main thread: on Linux a thread has a nice value of its own (and the threads and
 * programs it starts inherit it), so when experts keep every core busy the event loop that serves requests
 * still runs at once. Elsewhere the worker keeps the normal priority.
 */
function lowerThisThreadsPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(threadId) && threadId > 0)
      setPriority(threadId, constants.priority.PRIORITY_BELOW_NORMAL);
  } catch {
    // not Linux, or not allowed: the normal priority
  }
}
lowerThisThreadsPriority();

process.env[WORKER_TAG] = String(threadId);
// Every program this worker starts carries this worker's thread id in its environment (a worker's process.env
// is its own; programs inherit it), so that the pool finds it even if it was started in the last moment before
// the worker was terminated; and it is listed in memory shared with the pool as soon as its start returns.
const childPids = new Int32Array((workerData as WorkerData).childPids);
onChildProcess((child) => {
  const pid = child.pid;
  if (pid === undefined) return;
  for (let index = 0; index < childPids.length; index++) {
    if (Atomics.compareExchange(childPids, index, 0, pid) !== 0) continue;
    child.once('exit', () => Atomics.compareExchange(childPids, index, pid, 0));
    return;
  }
});

const backends = new Map<string, InferenceBackend>();

function backendFor(spec: WorkerBackendSpec): InferenceBackend {
  const key = JSON.stringify(spec);
  let backend = backends.get(key);
  if (!backend) {
    backend = spec.kind === 'local' ? createLocalBackend() : createTransformersBackend(spec.options);
    backends.set(key, backend);
  }
  return backend;
}

let nextCall = 0;
const pendingWrites = new Map<
  number,
  { resolve: (artifact: Artifact) => void; reject: (error: Error) => void }
>();

/** Writes go to the main thread's sink; the bytes are moved, not copied, when they own their buffer. */
function sinkFor(job: number): ArtifactSink {
  return {
    write(file) {
      const call = ++nextCall;
      const owned =
        file.bytes.byteOffset === 0 && file.bytes.byteLength === file.bytes.buffer.byteLength
          ? file.bytes
          : file.bytes.slice();
      const message: ArtifactFile = {
        kind: file.kind,
        bytes: owned,
        mimeType: file.mimeType,
        extension: file.extension,
        ...(file.label === undefined ? {} : { label: file.label }),
      };
      return new Promise<Artifact>((resolve, reject) => {
        pendingWrites.set(call, { resolve, reject });
        const transfer = owned.buffer instanceof ArrayBuffer ? [owned.buffer] : [];
        post({ type: 'artifact', job, call, file: message }, transfer);
      });
    },
  };
}

port.on('message', (message: MainToWorker) => {
  if (message.type === 'artifact-written' || message.type === 'artifact-failed') {
    const pending = pendingWrites.get(message.call);
    pendingWrites.delete(message.call);
    if (message.type === 'artifact-written') pending?.resolve(message.artifact);
    else pending?.reject(reviveError(message.error));
    return;
  }
  const { job, backend, request } = message;
  void (async () => {
    try {
      const output = await backendFor(backend).infer({
        ...request,
        artifacts: sinkFor(job),
        // Never aborted here: a cancelled job's thread is terminated by the pool.
        signal: new AbortController().signal,
        onProgress: (text) => post({ type: 'progress', job, message: text }),
      });
      post({ type: 'done', job, output });
    } catch (error) {
      post({ type: 'failed', job, error: serializeError(error) });
    }
  })();
});
