// `jarvis serve` as a separate process on loopback, as a user starts it: for the tests that kill it with
// SIGKILL or measure how quickly it answers while it is attacked (an in-process server would share the test's
// own event loop).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanEnvironment } from '../support/cli.js';

const ENTRY = fileURLToPath(new URL('./jarvis-from-source.ts', import.meta.url));
/** tsx by its full address: the child runs in a folder of its own, outside this package. */
const TSX = import.meta.resolve('tsx');

export interface ChildServer {
  url: string;
  child: ChildProcess;
  readonly stderr: string;
  /** Resolves once the process has ended. */
  exited: Promise<void>;
  /** SIGKILL, as `kill -9`: no handler runs, nothing is flushed or cleaned up. */
  kill(): Promise<void>;
  /** SIGINT (Ctrl-C), waited for. */
  stop(): Promise<void>;
}

/** Starts `jarvis serve --port 0` with its data in `dataDir`; resolves once it listens. */
export async function startChildServer(options: {
  dataDir: string;
  home: string;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}): Promise<ChildServer> {
  const env = cleanEnvironment(options.home, {
    JARVIS_DATA_DIR: options.dataDir,
    JARVIS_OFFLINE: '1',
    JARVIS_INFERENCE_MODE: 'local',
    ...options.env,
  });
  const child = spawn(
    process.execPath,
    ['--import', TSX, ENTRY, 'serve', '--host', '127.0.0.1', '--port', '0'],
    { cwd: options.home, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jarvis serve did not start in time:\n${stdout}\n${stderr}`));
    }, options.startTimeoutMs ?? 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const found = /serving on (http:\/\/\S+?) /.exec(stdout);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`jarvis serve exited before listening:\n${stdout}\n${stderr}`));
    });
  });
  return {
    url,
    child,
    get stderr() {
      return stderr;
    },
    exited,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGINT');
      await exited;
    },
  };
}
