import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { InferenceError } from '../../core/errors.js';
import type { Artifact, ArtifactSink, TaskOutput } from '../../core/output.js';
import { extensionOrSubtype } from '../../media/types.js';

type MediaKind = Artifact['kind'];

/** Reads a resource a tool linked to: http(s) under the URL rules, anything else from the server itself. */
export interface LinkedResourceReader {
  read(
    uri: string,
    signal: AbortSignal,
    mimeType?: string,
  ): Promise<{ bytes?: Uint8Array; text?: string; mimeType?: string }>;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function mediaKindOf(mimeType: string | undefined): MediaKind | undefined {
  const kind = mimeType?.split('/')[0];
  return kind === 'image' || kind === 'audio' || kind === 'video' ? kind : undefined;
}

function malformed(server: string, tool: string, what: string): InferenceError {
  return new InferenceError(`MCP tool ${server}/${tool} returned malformed content: ${what}`, {
    context: { backend: 'mcp', model: `${server}/${tool}` },
  });
}

function decodeBase64(data: unknown, server: string, tool: string, what: string): Uint8Array {
  if (typeof data !== 'string') throw malformed(server, tool, `${what} has no base64 data`);
  const compact = data.replace(/\s+/g, '');
  if (compact.length === 0 || !BASE64.test(compact) || compact.length % 4 === 1) {
    throw malformed(server, tool, `${what} data is not base64`);
  }
  return Buffer.from(compact, 'base64');
}

/**
 * A tool's result as a task's output: text parts become the text, images and audio become the task's files,
 * linked and embedded resources are fetched or kept by their type, structured content becomes the data.
 * A result marked as an error is an error.
 */
export async function toTaskOutput(
  result: CallToolResult,
  options: {
    server: string;
    tool: string;
    artifacts: ArtifactSink;
    resources: LinkedResourceReader;
    signal: AbortSignal;
  },
): Promise<TaskOutput> {
  const { server, tool } = options;
  if (!Array.isArray(result.content)) throw malformed(server, tool, 'no content list');
  const texts: string[] = [];
  const artifacts: Artifact[] = [];
  const keep = async (kind: MediaKind, bytes: Uint8Array, mimeType: string, label: string) => {
    artifacts.push(
      await options.artifacts.write({
        kind,
        bytes,
        mimeType,
        extension: extensionOrSubtype(mimeType),
        label,
      }),
    );
  };
  const keepResource = async (
    uri: string,
    resource: { bytes?: Uint8Array; text?: string; mimeType?: string },
  ): Promise<void> => {
    const kind = mediaKindOf(resource.mimeType);
    if (kind && resource.bytes) await keep(kind, resource.bytes, resource.mimeType!, uri);
    else if (resource.text !== undefined) texts.push(resource.text);
    else if (resource.bytes && /^text\/|^application\/json/.test(resource.mimeType ?? ''))
      texts.push(Buffer.from(resource.bytes).toString('utf8'));
    else texts.push(`(${uri}: ${resource.mimeType ?? 'unknown type'}, ${resource.bytes?.length ?? 0} bytes)`);
  };

  for (const part of result.content) {
    switch (part.type) {
      case 'text':
        if (typeof part.text !== 'string') throw malformed(server, tool, 'text content without text');
        texts.push(part.text);
        break;
      case 'image':
      case 'audio': {
        if (mediaKindOf(part.mimeType) !== part.type) {
          throw malformed(server, tool, `${part.type} content of type "${String(part.mimeType)}"`);
        }
        await keep(
          part.type,
          decodeBase64(part.data, server, tool, `${part.type} content`),
          part.mimeType,
          `${server}/${tool}`,
        );
        break;
      }
      case 'resource_link': {
        const read = await options.resources.read(part.uri, options.signal, part.mimeType);
        await keepResource(part.uri, { ...read, mimeType: read.mimeType ?? part.mimeType });
        break;
      }
      case 'resource': {
        const { resource } = part;
        if ('text' in resource && typeof resource.text === 'string') {
          await keepResource(resource.uri, {
            text: resource.text,
            ...(resource.mimeType ? { mimeType: resource.mimeType } : {}),
          });
        } else if ('blob' in resource) {
          await keepResource(resource.uri, {
            bytes: decodeBase64(resource.blob, server, tool, 'embedded resource'),
            ...(resource.mimeType ? { mimeType: resource.mimeType } : {}),
          });
        } else throw malformed(server, tool, 'embedded resource without text or blob');
        break;
      }
      default:
        throw malformed(server, tool, `unknown content type "${String((part as { type?: unknown }).type)}"`);
    }
  }
  const text = texts.join('\n').trim();
  if (result.isError) {
    throw new InferenceError(`MCP tool ${server}/${tool} failed: ${text || 'no message'}`, {
      context: { backend: 'mcp', model: `${server}/${tool}` },
    });
  }
  return {
    ...(text ? { text } : {}),
    ...(result.structuredContent === undefined ? {} : { data: result.structuredContent }),
    ...(artifacts.length > 0 ? { artifacts } : {}),
  };
}
