import type { ChildProcess } from 'node:child_process';

/**
 * Programs an expert starts (pocketsphinx, flite) are announced here. In an expert worker the pool listens:
 * terminating a worker thread does not end the processes it started, so the main thread kills them itself.
 */
let listener: ((child: ChildProcess) => void) | undefined;

export function onChildProcess(next: ((child: ChildProcess) => void) | undefined): void {
  listener = next;
}

export function announceChildProcess(child: ChildProcess): void {
  listener?.(child);
}
