import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, constants, openSync, rmSync, write } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { announceChildProcess, runCommand } from '../../../core/processes.js';

export interface PocketsphinxModel {
  hmm: string;
  lm: string;
  dict: string;
}

/** One utterance's result line: `<words> (<utterance id> <score>)`. */
export function parseHypothesis(line: string): { id: string; text: string } | undefined {
  const match = /^(.*?)\s*\((\S+)\s+-?\d+\)\s*$/.exec(line);
  if (!match) return undefined;
  return { id: match[2] as string, text: (match[1] ?? '').replace(/\s+/g, ' ').trim() };
}

/**
 * The search, narrower and in one pass: the second (flat lexicon) pass off, the 2 best Gaussians per frame
 * (of 4), a 10-frame phone lookahead to prune words early, at most 3000 active HMMs per frame. Measured on
 * the fixtures' 5 audiobook clips (71 words) and 5 flite sentences (58 words), load 7-8 on 2 cores: CPU time
 * for the 23 s of audiobook 8.4-10.9 s -> 3.3-4.9 s, word errors 28.2% -> 22.5% (audiobook) and 36.2% ->
 * 29.3% (flite). Narrower still (-maxhmmpf 1500, -ds 2, tighter beams) made no clear further gain in time
 * and cost 10-20 points of word errors on flite's speech.
 */
const SEARCH = ['-fwdflat', 'no', '-topn', '2', '-pl_window', '10', '-maxhmmpf', '3000'];

/**
 * A pocketsphinx decoder that stays loaded between calls: `pocketsphinx_batch` reads its control file
 * (the list of utterances to decode) from a pipe, so one process loads the 27 MB model once and then decodes
 * each WAV file named on a new line, printing one hypothesis line per file. Starting
 * `pocketsphinx_continuous` per call reloaded the model every time (~0.5 s).
 */
export class PocketsphinxDecoder {
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #fifos: Fifos;
  readonly #pending = new Map<string, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  #next = 0;
  #failure: Error | undefined;
  /**
   * Ends the decoder when this process (or worker thread) exits without stopping it, as a test file or a
   * script that never closes its backend does. A decoder still loading its model when the process went would
   * otherwise wait forever for a reader of its hypotheses pipe, and its folder would stay in the temp folder.
   */
  readonly #onExit = () => {
    this.#child.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  };

  private constructor(child: ChildProcess, dir: string, fifos: Fifos) {
    this.#child = child;
    this.#dir = dir;
    this.#fifos = fifos;
    process.once('exit', this.#onExit);
    const lines = createInterface({ input: fifos.hypotheses });
    lines.on('line', (line) => {
      const hypothesis = parseHypothesis(line);
      if (!hypothesis) return;
      const pending = this.#pending.get(hypothesis.id);
      if (!pending) return;
      this.#pending.delete(hypothesis.id);
      pending.resolve(hypothesis.text);
      this.#updateRef();
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    child.on('error', (error) => this.#fail(new Error(`pocketsphinx_batch failed: ${error.message}`)));
    child.on('exit', (code, signal) => {
      process.off('exit', this.#onExit);
      const detail = stderr.trim().split('\n').slice(-3).join(' ');
      this.#fail(
        new Error(
          `pocketsphinx_batch stopped (${signal ?? `exit code ${code}`})${detail ? `: ${detail}` : ''}`,
        ),
      );
    });
    this.#updateRef();
  }

  static async start(
    binary: string,
    model: PocketsphinxModel,
    sampleRate: number,
  ): Promise<PocketsphinxDecoder> {
    const dir = await mkdtemp(join(tmpdir(), 'jarvis-pocketsphinx-'));
    let fifos: Fifos;
    try {
      fifos = await openFifos(dir);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const child = spawn(
      binary,
      [
        '-ctl',
        fifos.controlPath,
        '-cepdir',
        dir,
        '-cepext',
        '.wav',
        '-adcin',
        'yes',
        '-adchdr',
        '44',
        '-hyp',
        fifos.hypothesesPath,
        '-hmm',
        model.hmm,
        '-lm',
        model.lm,
        '-dict',
        model.dict,
        '-samprate',
        String(sampleRate),
        ...SEARCH,
        '-logfn',
        devNull,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], windowsHide: true },
    );
    announceChildProcess(child);
    return new PocketsphinxDecoder(child, dir, fifos);
  }

  /** Decodes one 16-bit mono WAV (44-byte header) at the decoder's sample rate; resolves with the words. */
  async decode(wav: Uint8Array): Promise<string> {
    if (this.#failure) throw this.#failure;
    const id = `u${++this.#next}`;
    const path = join(this.#dir, `${id}.wav`);
    await writeFile(path, wav);
    try {
      return await new Promise<string>((resolve, reject) => {
        if (this.#failure) {
          reject(this.#failure);
          return;
        }
        this.#pending.set(id, { resolve, reject });
        this.#updateRef();
        write(this.#fifos.control, `${id}\n`, (error) => {
          if (error) this.#fail(new Error(`cannot reach pocketsphinx_batch: ${error.message}`));
        });
      });
    } finally {
      await rm(path, { force: true });
    }
  }

  /** Stops the process; calls still waiting fail. */
  async stop(): Promise<void> {
    process.off('exit', this.#onExit);
    this.#fail(new Error('the pocketsphinx decoder was stopped'));
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    this.#fifos.close();
    await rm(this.#dir, { recursive: true, force: true });
  }

  get failed(): boolean {
    return this.#failure !== undefined;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
    this.#updateRef();
  }

  /** An idle decoder never keeps the process alive; a busy one does, until its answer arrives. */
  #updateRef(): void {
    const busy = this.#pending.size > 0 && !this.#failure;
    const handles = [this.#child, this.#child.stderr, this.#fifos.hypotheses] as ({
      ref?: () => void;
      unref?: () => void;
    } | null)[];
    for (const handle of handles) {
      if (busy) handle?.ref?.();
      else handle?.unref?.();
    }
  }
}

interface Fifos {
  controlPath: string;
  hypothesesPath: string;
  /** Write end of the control list: one utterance name per line. */
  control: number;
  /** Read end of the hypotheses. */
  hypotheses: Socket;
  close(): void;
}

/**
 * Named pipes for the control list and the hypotheses: pocketsphinx_batch opens both by path, and Node's
 * stdio pipes are sockets, which `/dev/stdin` cannot be opened on. Every end is opened without blocking
 * (a reader first, so that the writer's open succeeds), and a spare writer keeps the hypotheses pipe from
 * reading as ended before the decoder opens it. A decoder whose worker thread is ended goes with it (the pool
 * kills what a worker started); one in a process that exits goes by the exit hook above.
 */
async function openFifos(dir: string): Promise<Fifos> {
  const controlPath = join(dir, 'control');
  const hypothesesPath = join(dir, 'hypotheses');
  await runCommand('mkfifo', [controlPath, hypothesesPath], { timeoutMs: 10_000 });
  const nonBlocking = constants.O_NONBLOCK;
  const spareReader = openSync(controlPath, constants.O_RDONLY | nonBlocking);
  const control = openSync(controlPath, constants.O_WRONLY | nonBlocking);
  const reader = openSync(hypothesesPath, constants.O_RDONLY | nonBlocking);
  const spareWriter = openSync(hypothesesPath, constants.O_WRONLY | nonBlocking);
  const hypotheses = new Socket({ fd: reader, readable: true, writable: false });
  let closed = false;
  return {
    controlPath,
    hypothesesPath,
    control,
    hypotheses,
    close() {
      if (closed) return;
      closed = true;
      hypotheses.destroy();
      for (const fd of [spareReader, control, spareWriter]) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
    },
  };
}
