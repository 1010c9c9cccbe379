import { lstat, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JarvisConfig } from '../config/schema.js';
import { runOutputDir } from '../run/index.js';
import type { Store } from '../store/index.js';

/**
 * What a process that stopped without cleaning up (kill -9, power loss, out of memory) leaves in the data
 * folder: per-run workspaces (links to uploads, removed when a run ends), and in the folders of runs it
 * interrupted, files no artifact row names (a download cut short, an output half written). Nothing reads
 * them again, and a workspace's links would keep uploads reachable, so the server removes them when it starts.
 */
export interface SweepResult {
  /** Workspaces removed from `<dataDir>/workspaces`. */
  workspaces: number;
  /** Files removed from the folders of interrupted runs. */
  partialFiles: number;
  /** Expert scratch folders (`<tmp>/jarvis-local-*`) removed. */
  temporaryDirs: number;
}

/** A scratch folder this old belongs to no task still going: every task has a timeout far below it. */
const TEMPORARY_MAX_AGE_MS = 60 * 60 * 1000;

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code;

async function entriesOf(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [];
    throw error;
  }
}

/** Every file under `dir` (links included, never followed), depth-first. */
async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  const pending = [dir];
  // A loop, not recursion: how deep a run's folder goes is not something to trust.
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    for (const name of await entriesOf(current)) {
      const path = join(current, name);
      const stats = await lstat(path).catch(() => undefined);
      if (stats?.isDirectory()) pending.push(path);
      else if (stats) files.push(path);
    }
  }
  return files;
}

/** Removes every per-run workspace; only for when no run is going (server start). */
export async function sweepWorkspaces(config: JarvisConfig): Promise<number> {
  const root = join(config.dataDir, 'workspaces');
  let removed = 0;
  for (const name of await entriesOf(root)) {
    await rm(join(root, name), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

/** Removes the files of a run's folder that no artifact of the run names. */
export async function sweepPartialFiles(config: JarvisConfig, store: Store, runId: string): Promise<number> {
  const kept = new Set((await store.listArtifacts(runId)).map((artifact) => resolve(artifact.path)));
  let removed = 0;
  for (const file of await filesUnder(runOutputDir(config, runId))) {
    if (kept.has(resolve(file))) continue;
    await rm(file, { force: true });
    removed += 1;
  }
  return removed;
}

/** Expert scratch folders older than any task may run (a running CLI elsewhere may own the younger ones). */
export async function sweepTemporaryDirs(now = Date.now(), root = tmpdir()): Promise<number> {
  let removed = 0;
  for (const name of await entriesOf(root)) {
    if (!name.startsWith('jarvis-local-')) continue;
    const path = join(root, name);
    const stats = await lstat(path).catch(() => undefined);
    if (!stats?.isDirectory() || now - stats.mtimeMs < TEMPORARY_MAX_AGE_MS) continue;
    await rm(path, { recursive: true, force: true }).catch(() => {});
    removed += 1;
  }
  return removed;
}

/**
 * Called once at start, before any run begins: clears what the previous process left, then marks its runs
 * as interrupted (after their files were looked at, so the ids are still known by their "running" status).
 */
export async function sweepAtStart(config: JarvisConfig, store: Store): Promise<SweepResult> {
  const interrupted = await store.listRunningRunIds();
  const result: SweepResult = {
    workspaces: await sweepWorkspaces(config),
    partialFiles: 0,
    temporaryDirs: await sweepTemporaryDirs(),
  };
  for (const runId of interrupted) result.partialFiles += await sweepPartialFiles(config, store, runId);
  await store.markInterruptedRuns();
  return result;
}
