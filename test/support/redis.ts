/**
 * A real redis-server for the queue tests, on a loopback port of its own, in a temporary folder: Debian's
 * `redis-server` (installed by `.ci/run`). `restart()` stops it and starts it again on the same port with the
 * same data, as an operator restarting Redis would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { closedPort } from './closed-port.js';

export interface RedisTestServer {
  url: string;
  port: number;
  /** Stops it (SIGTERM: an append-only file is flushed first), then starts it again on the same port. */
  restart(downForMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const { createConnection } = await import('node:net');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`redis-server did not listen on ${port} within 10 s: ${output()}`);
}

export async function startRedis(): Promise<RedisTestServer> {
  const port = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), 'jarvis-redis-'));
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    output = '';
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    const spawned = child;
    await new Promise<void>((resolve, reject) => {
      spawned.once('spawn', resolve);
      spawned.once('error', (error) =>
        reject(
          new Error(
            `cannot start redis-server (${error.message}): install Debian's redis-server (apt-get install redis-server)`,
          ),
        ),
      );
    });
    await waitForPort(port, spawned, () => output);
  };
  const stopChild = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart(downForMs = 0) {
      await stopChild();
      if (downForMs > 0) await sleep(downForMs);
      await start();
    },
    async stop() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
