import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { JarvisConfig } from '../config/schema.js';
import { pathInside } from '../core/paths.js';
import { runOutputDir } from '../run/index.js';
import { newId } from '../store/index.js';

/**
 * The working folder of one server run. A run working in the data folder itself could read all of it: the
 * database, every conversation's uploads and results. So each run works in a folder of its own holding links
 * to exactly what it may read: its conversation's uploads under the names the user knows them by (`kite.jpg`),
 * and earlier runs' folders at their place under the data folder (`runs/<run id>/….png`). The same files are
 * its only allowed inputs; anything else a plan names is not there, or lies outside, and is refused.
 */
export interface RunWorkspace {
  /** The run's working folder (`cwd`). */
  cwd: string;
  /** The uploads it may read (`inputFiles`). */
  inputFiles: string[];
  /** The folders of earlier runs it may read (`allowedDirs`). */
  allowedDirs: string[];
  remove(): Promise<void>;
}

/** Links `target` at the place its path under `dataDir` names inside `cwd`; targets elsewhere are left out. */
async function mirror(dataDir: string, cwd: string, target: string, type: 'file' | 'dir'): Promise<void> {
  const inside = pathInside(dataDir, target);
  if (!inside) return;
  const link = join(cwd, inside);
  if (existsSync(link)) return;
  await mkdir(dirname(link), { recursive: true });
  await symlink(target, link, type);
}

/**
 * The working folder of runs that have nothing to link (a first turn without uploads, or earlier runs that
 * wrote no files): one empty folder for all of them, instead of a folder made and removed per run. Runs write
 * only into their own run folder, never into their working folder, so it stays empty.
 */
function emptyWorkspace(config: JarvisConfig): string {
  const cwd = join(config.dataDir, 'workspaces', 'empty');
  // The sweep at start and at close removes it with the rest; a stat is all a run pays when it exists.
  if (!existsSync(cwd)) mkdirSync(cwd, { recursive: true, mode: 0o700 });
  return cwd;
}

/** Whether `target` lies inside `dataDir` (only such targets are mirrored). */
function insideDataDir(dataDir: string, target: string): boolean {
  return Boolean(pathInside(dataDir, target));
}

export async function createRunWorkspace(
  config: JarvisConfig,
  uploads: readonly { path: string; name: string }[],
  earlierRunIds: readonly string[],
): Promise<RunWorkspace> {
  const inputFiles = [...new Set(uploads.map((upload) => upload.path))];
  const allowedDirs = earlierRunIds.map((id) => runOutputDir(config, id));
  // An earlier run that wrote no files has no folder: nothing of it to read, nothing to link.
  const linkedDirs = allowedDirs.filter((dir) => insideDataDir(config.dataDir, dir) && existsSync(dir));
  const linkedFiles = uploads.filter((upload) => insideDataDir(config.dataDir, upload.path));
  if (linkedDirs.length === 0 && linkedFiles.length === 0) {
    return { cwd: emptyWorkspace(config), inputFiles, allowedDirs, remove: async () => {} };
  }
  const cwd = join(config.dataDir, 'workspaces', newId('w'));
  await mkdir(cwd, { recursive: true, mode: 0o700 });
  const remove = () => rm(cwd, { recursive: true, force: true });
  try {
    for (const upload of linkedFiles) await symlink(upload.path, join(cwd, upload.name), 'file');
    for (const dir of linkedDirs) await mirror(config.dataDir, cwd, dir, 'dir');
    return { cwd, inputFiles, allowedDirs, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
