/**
 * How files move between the server and workers on other machines, without a shared disk: the server hands a
 * job one unguessable token per input file (the worker GETs it) and one upload token (the worker POSTs each
 * generated file to it). Tokens live in this process's memory only, expire with the job, and open exactly one
 * file or one job's uploads: a token learnt from one job reads nothing else, and nothing outlives the server.
 *
 * Uploads are staged in memory and reach the run's folder only for the attempt whose result the server
 * accepts: a worker killed halfway through leaves no half-set of files behind in the user's run.
 */
import { randomBytes } from 'node:crypto';
import type { Artifact, InputFile } from '../core/output.js';

export interface StagedFile {
  kind: Artifact['kind'];
  bytes: Uint8Array;
  mimeType: string;
  extension: string;
  label?: string;
}

export interface UploadBox {
  readonly token: string;
  /** The staged files with these ids, in this order; unknown ids are an error (a result from another box). */
  take(ids: readonly string[]): StagedFile[];
  close(): void;
}

export interface FileExchange {
  offer(file: InputFile, name: string, ttlMs: number): string;
  openUploads(ttlMs: number, maxBytes: number): UploadBox;
  revoke(token: string): void;
  /** The input file behind a token, or undefined when the token is unknown or expired. */
  input(token: string): (InputFile & { name: string }) | undefined;
  /** Stages an uploaded file; returns its id, or a reason to refuse it. */
  stage(token: string, file: StagedFile): { id: string } | { refused: string; status: 404 | 413 };
  /** Tokens alive now (for tests and metrics). */
  readonly size: number;
}

const newToken = () => randomBytes(24).toString('base64url');

export function createFileExchange(now: () => number = Date.now): FileExchange {
  const inputs = new Map<string, InputFile & { name: string; expiresAt: number }>();
  const boxes = new Map<
    string,
    { expiresAt: number; maxBytes: number; bytes: number; files: Map<string, StagedFile> }
  >();

  const sweep = () => {
    const time = now();
    for (const [token, entry] of inputs) if (entry.expiresAt <= time) inputs.delete(token);
    for (const [token, entry] of boxes) if (entry.expiresAt <= time) boxes.delete(token);
  };

  return {
    offer(file, name, ttlMs) {
      sweep();
      const token = newToken();
      inputs.set(token, { ...file, name, expiresAt: now() + ttlMs });
      return token;
    },
    openUploads(ttlMs, maxBytes) {
      sweep();
      const token = newToken();
      const box = { expiresAt: now() + ttlMs, maxBytes, bytes: 0, files: new Map<string, StagedFile>() };
      boxes.set(token, box);
      return {
        token,
        take(ids) {
          return ids.map((id) => {
            const file = box.files.get(id);
            if (!file)
              throw new Error(`the worker's result names upload "${id}", which this job never received`);
            return file;
          });
        },
        close() {
          boxes.delete(token);
          box.files.clear();
        },
      };
    },
    revoke(token) {
      inputs.delete(token);
      boxes.delete(token);
    },
    input(token) {
      const entry = inputs.get(token);
      if (!entry || entry.expiresAt <= now()) return undefined;
      return { path: entry.path, mimeType: entry.mimeType, name: entry.name };
    },
    stage(token, file) {
      const box = boxes.get(token);
      if (!box || box.expiresAt <= now()) return { refused: 'unknown or expired upload token', status: 404 };
      if (box.bytes + file.bytes.byteLength > box.maxBytes) {
        return {
          refused: `the task's files would exceed ${box.maxBytes} bytes (server.maxUploadBytes)`,
          status: 413,
        };
      }
      box.bytes += file.bytes.byteLength;
      const id = `u${box.files.size + 1}-${randomBytes(6).toString('hex')}`;
      box.files.set(id, file);
      return { id };
    },
    get size() {
      return inputs.size + boxes.size;
    },
  };
}
