/**
 * The job format shared by `jarvis serve --queue` (which adds jobs) and `jarvis worker` (which runs them).
 * Every job carries `v`: a worker refuses a version it does not speak, with a message that says which side to
 * upgrade, instead of misreading a payload.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const JOB_FORMAT_VERSION = 1;

/** Bytes of JSON a job may carry (text inputs travel inline; files travel over HTTP links). */
export const MAX_JOB_BYTES = 1024 * 1024;

/** Bytes of JSON a worker's result may carry (artifacts travel over HTTP, not in the result). */
export const MAX_RESULT_BYTES = 4 * 1024 * 1024;

const fileSchema = z.strictObject({
  /** Capability token of the file on the server: `GET <server>/v1/worker-files/<token>`. */
  token: z.string().min(16).max(128),
  mimeType: z.string().max(200),
  /** The file's name on the server (for its extension and for messages). */
  name: z.string().max(300),
});

export const taskJobSchema = z.strictObject({
  v: z.literal(JOB_FORMAT_VERSION),
  backend: z.string().min(1).max(100),
  modelId: z.string().min(1).max(300),
  task: z.string().min(1).max(100),
  inputs: z.strictObject({
    text: z.string().optional(),
    image: fileSchema.optional(),
    audio: fileSchema.optional(),
    video: fileSchema.optional(),
  }),
  /** Capability token for uploading the files the task generates: `POST <server>/v1/worker-files/<token>`. */
  uploadToken: z.string().min(16).max(128),
  /** How long the server waits for this task; a worker stops the task after this too. */
  timeoutMs: z.number().int().positive(),
  /** For log lines only: which run and task of the server this job is. */
  runLabel: z.string().max(200).optional(),
});
export type TaskJob = z.infer<typeof taskJobSchema>;

export const taskJobResultSchema = z.strictObject({
  v: z.literal(JOB_FORMAT_VERSION),
  text: z.string().optional(),
  data: z.unknown().optional(),
  /** Upload ids the server handed back for this attempt's files, in output order. */
  artifacts: z.array(z.string().max(128)).max(64),
  /** Which worker ran it, for the run's events. */
  worker: z.string().max(200),
  /** The expert worked but found nothing (TaskOutput.nothingFound). */
  nothingFound: z.string().max(2000).optional(),
  /** How the expert got its result (TaskOutput.how). */
  how: z.string().max(2000).optional(),
});
export type TaskJobResult = z.infer<typeof taskJobResultSchema>;

/** Progress a worker reports with `job.updateProgress`. */
export const taskJobProgressSchema = z.object({ message: z.string().max(2000), worker: z.string().max(200) });

/**
 * The BullMQ queue that carries one model's tasks: a worker listens only on the queues of models it can run,
 * so a job never reaches a worker that would have to refuse it. Queue names may not contain ":".
 */
export function queueNameFor(backend: string, modelId: string): string {
  const readable = `${backend}.${modelId}`.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(`${backend}\0${modelId}`).digest('hex').slice(0, 8);
  return `task.${readable}.${hash}`;
}

/** Describes why a job's data cannot be run, in one line (version first: it explains every other problem). */
export function jobProblem(data: unknown): string | undefined {
  const version = (data as { v?: unknown } | null)?.v;
  if (version !== JOB_FORMAT_VERSION) {
    return `job format version ${JSON.stringify(version)} is not the version this worker speaks (${JOB_FORMAT_VERSION}): run the same Jarvis version on the server and its workers`;
  }
  const size = Buffer.byteLength(JSON.stringify(data) ?? '');
  if (size > MAX_JOB_BYTES) return `job payload is ${size} bytes, over the limit of ${MAX_JOB_BYTES}`;
  const parsed = taskJobSchema.safeParse(data);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  return `malformed job: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
}
