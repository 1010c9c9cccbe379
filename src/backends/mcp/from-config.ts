import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JarvisConfig } from '../../config/schema.js';
import { createArtifactDirectory } from '../../execute/artifacts.js';
import { fetchUrlInput } from '../../execute/inputs.js';
import { createMcpBackend, type McpBackend } from './index.js';

/**
 * The MCP backend for `mcp.servers`, or none when no server is configured. Links its tools return are
 * fetched under the same URL rules as a plan's URLs (execute.allowPrivateUrls, size and time limits).
 */
export function mcpBackendFor(config: JarvisConfig): McpBackend[] {
  if (Object.keys(config.mcp.servers).length === 0) return [];
  return [
    createMcpBackend({
      servers: config.mcp.servers,
      connectTimeoutMs: config.mcp.connectTimeoutMs,
      async fetchUrl(url, kind, signal) {
        const folder = await mkdtemp(join(tmpdir(), 'jarvis-mcp-link-'));
        try {
          const file = await fetchUrlInput(url, kind, {
            policy: {
              cwd: folder,
              allowedFiles: [],
              allowedDirs: [],
              allowPrivateUrls: config.execute.allowPrivateUrls,
              maxDownloadBytes: config.execute.maxDownloadBytes,
              urlTimeoutMs: config.execute.urlTimeoutMs,
            },
            directory: createArtifactDirectory(folder),
            signal,
          });
          return { bytes: await readFile(file.path), mimeType: file.mimeType };
        } finally {
          await rm(folder, { recursive: true, force: true });
        }
      },
    }),
  ];
}
