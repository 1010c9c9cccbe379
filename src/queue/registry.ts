/**
 * Live workers announce themselves in Redis: one key per worker, rewritten every few seconds with an expiry, so a
 * worker that dies (even with `kill -9`) disappears from `GET /v1/workers` and from model selection once its
 * key expires, without anyone having to notice the death.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { JOB_FORMAT_VERSION } from './job.js';

export const workerAnnouncementSchema = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number(),
  /** The job format this worker speaks. */
  v: z.number(),
  backends: z.array(z.string()),
  models: z.array(
    z.object({ backend: z.string(), id: z.string(), task: z.string(), description: z.string().optional() }),
  ),
  concurrency: z.number(),
  /** Jobs running now. */
  running: z.number(),
  /** Jobs finished since the worker started (succeeded or failed). */
  done: z.number(),
  startedAt: z.string(),
  heartbeatAt: z.string(),
});
export type WorkerAnnouncement = z.infer<typeof workerAnnouncementSchema>;

export function workerKey(prefix: string, id: string): string {
  return `${prefix}:workers:${id}`;
}

/** Writes the worker's announcement now and every `ttlMs / 3`; `stop()` removes it at once. */
export function startHeartbeat(
  redis: Redis,
  prefix: string,
  ttlMs: number,
  announce: () => Omit<WorkerAnnouncement, 'heartbeatAt' | 'v'>,
  onError: (error: unknown) => void,
): { beat(): Promise<void>; stop(): Promise<void> } {
  let stopped = false;
  const beat = async () => {
    if (stopped) return;
    const announcement = { ...announce(), v: JOB_FORMAT_VERSION, heartbeatAt: new Date().toISOString() };
    await redis.set(workerKey(prefix, announcement.id), JSON.stringify(announcement), 'PX', ttlMs);
  };
  const timer = setInterval(() => beat().catch(onError), Math.max(100, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    beat,
    async stop() {
      stopped = true;
      clearInterval(timer);
      const id = announce().id;
      await redis.del(workerKey(prefix, id)).catch(() => {});
    },
  };
}

/** Every worker whose announcement has not expired, oldest first. */
export async function liveWorkers(redis: Redis, prefix: string): Promise<WorkerAnnouncement[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:workers:*`, 'COUNT', 200);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0' && keys.length < 10_000);
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  const workers: WorkerAnnouncement[] = [];
  for (const value of values) {
    if (value === null) continue; // expired between SCAN and MGET
    try {
      const parsed = workerAnnouncementSchema.safeParse(JSON.parse(value));
      if (parsed.success) workers.push(parsed.data);
    } catch {}
  }
  return workers.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
