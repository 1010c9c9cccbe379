import { readFile } from 'node:fs/promises';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { InputError } from '../../core/errors.js';
import type { ResolvedInputs } from '../../core/output.js';
import type { ResourceKind } from '../../core/tasks.js';

type MediaKind = Exclude<ResourceKind, 'text'>;
type PropertySchema = {
  type?: string | string[];
  description?: string;
  contentEncoding?: string;
  format?: string;
  enum?: unknown[];
};

/** Property names that take a file of each kind ("image", "imageUrl", "photo_path", "audio_data"). */
const MEDIA_NAMES: Record<MediaKind, RegExp> = {
  image: /image|img|picture|photo/i,
  audio: /audio|sound|speech|wav|mp3/i,
  video: /video|movie|clip/i,
};
const MEDIA_KINDS = Object.keys(MEDIA_NAMES) as MediaKind[];

interface ToolShape {
  properties: Record<string, PropertySchema>;
  required: string[];
}

function shapeOf(tool: Tool): ToolShape {
  const schema = tool.inputSchema as { properties?: Record<string, PropertySchema>; required?: string[] };
  return { properties: schema.properties ?? {}, required: schema.required ?? [] };
}

function isStringy(schema: PropertySchema): boolean {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return types.includes('string') || schema.type === undefined;
}

/** The media kind a property takes, from its name: only string properties can carry a file. */
function mediaKindOf(name: string, schema: PropertySchema): MediaKind | undefined {
  if (!isStringy(schema) || schema.enum) return undefined;
  return MEDIA_KINDS.find((kind) => MEDIA_NAMES[kind].test(name));
}

/** What a tool takes and produces, in the planner's resource kinds. */
export function toolKinds(tool: Tool): { inputs: ResourceKind[]; required: ResourceKind[] } {
  const { properties, required } = shapeOf(tool);
  const inputs = new Set<ResourceKind>();
  const needed = new Set<ResourceKind>();
  for (const [name, schema] of Object.entries(properties)) {
    const kind = mediaKindOf(name, schema) ?? 'text';
    inputs.add(kind);
    if (required.includes(name)) needed.add(kind);
  }
  // A tool without arguments still gets an optional text argument: plans name at least one argument.
  if (inputs.size === 0) inputs.add('text');
  return { inputs: [...inputs], required: [...needed] };
}

function typesOf(schema: PropertySchema): string[] {
  return (Array.isArray(schema.type) ? schema.type : [schema.type ?? 'string']).filter(
    (type): type is string => typeof type === 'string',
  );
}

/** A value a plan gave (always text, or a JSON value) turned into what the property's schema asks for. */
function coerce(tool: string, name: string, value: unknown, schema: PropertySchema): unknown {
  const types = typesOf(schema);
  if (typeof value !== 'string') {
    if (types.includes('string') && !types.some((type) => type !== 'string')) return JSON.stringify(value);
    return value;
  }
  if (types.includes('string')) return value;
  const trimmed = value.trim();
  if (types.includes('number') || types.includes('integer')) {
    const number = Number(trimmed);
    if (
      trimmed === '' ||
      !Number.isFinite(number) ||
      (types.includes('integer') && !types.includes('number') && !Number.isInteger(number))
    ) {
      throw new InputError(`${tool}: "${name}" takes a ${types.join(' or ')}, not "${value.slice(0, 40)}"`);
    }
    return number;
  }
  if (types.includes('boolean')) {
    if (/^(true|yes|1)$/i.test(trimmed)) return true;
    if (/^(false|no|0)$/i.test(trimmed)) return false;
    throw new InputError(`${tool}: "${name}" takes true or false, not "${value.slice(0, 40)}"`);
  }
  if (types.includes('array') || types.includes('object')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      throw new InputError(
        `${tool}: "${name}" takes JSON (${types.join(' or ')}), not "${value.slice(0, 40)}"`,
      );
    }
  }
  return value;
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(trimmed) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A plan's arguments (text, image, audio, video) as the tool's arguments. The text goes to the tool's one
 * text property, or, written as a JSON object ({"a": 2, "b": 3}), fills the properties it names. A file goes
 * to the property named after its kind, as base64 content, or as its path where the server runs on this
 * machine and the property asks for a path.
 */
export async function toolArguments(
  tool: Tool,
  inputs: ResolvedInputs,
  options: { local: boolean },
): Promise<Record<string, unknown>> {
  const { properties, required } = shapeOf(tool);
  const args: Record<string, unknown> = {};
  const textProperties = Object.entries(properties).filter(([name, schema]) => !mediaKindOf(name, schema));
  if (inputs.text !== undefined) {
    const object = jsonObject(inputs.text);
    const known = object ? Object.keys(object).filter((key) => key in properties) : [];
    if (object && known.length > 0 && known.length === Object.keys(object).length) {
      for (const key of known) args[key] = coerce(tool.name, key, object[key], properties[key]!);
    } else {
      const requiredText = textProperties.filter(([name]) => required.includes(name));
      const target =
        requiredText.length === 1
          ? requiredText[0]
          : textProperties.length === 1
            ? textProperties[0]
            : requiredText.find(([, schema]) => isStringy(schema));
      if (target) args[target[0]] = coerce(tool.name, target[0], inputs.text, target[1]);
      else if (textProperties.length > 0) {
        throw new InputError(
          `${tool.name} takes ${textProperties.map(([name]) => name).join(', ')}: give the text argument as a JSON object with those keys`,
        );
      }
    }
  }
  for (const kind of MEDIA_KINDS) {
    const file = inputs[kind];
    if (!file) continue;
    const entry = Object.entries(properties).find(([name, schema]) => mediaKindOf(name, schema) === kind);
    if (!entry) continue;
    const [name, schema] = entry;
    const wantsPath =
      /path|file/i.test(`${name} ${schema.description ?? ''}`) &&
      !/base64/i.test(`${name} ${schema.description ?? ''}`);
    args[name] = options.local && wantsPath ? file.path : (await readFile(file.path)).toString('base64');
  }
  const missing = required.filter((name) => args[name] === undefined);
  if (missing.length > 0) {
    throw new InputError(`${tool.name} needs ${missing.join(', ')} (its required arguments)`);
  }
  return args;
}
