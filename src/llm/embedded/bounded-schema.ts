import type { GbnfJsonSchema } from 'node-llama-cpp';
import { isRecord } from '../../core/records.js';

/**
 * Bounds that make every JSON-schema grammar finite. A grammar built from an unbounded schema lets a small
 * model write one string or list forever; with these, generation always reaches the end of the JSON.
 */
export interface SchemaLimits {
  /** maxLength given to strings that have none. */
  maxStringLength: number;
  /** maxItems given to arrays that have none. */
  maxArrayItems: number;
  /** maxProperties given to objects with free-form keys. */
  maxProperties: number;
  /** Unbounded integers become an enum from `minInteger` to `maxInteger` (ids and references are small). */
  minInteger: number;
  maxInteger: number;
  /** Integer ranges up to this size become enums; larger ones stay integers, which the grammar caps at 16 digits. */
  maxIntegerEnum: number;
}

export const DEFAULT_SCHEMA_LIMITS: SchemaLimits = {
  maxStringLength: 400,
  maxArrayItems: 12,
  maxProperties: 12,
  minInteger: -1,
  maxInteger: 63,
  maxIntegerEnum: 256,
};

type Schema = Record<string, unknown>;

const MAX_DEPTH = 16;

function numberOr(value: unknown, fallback: number | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function withDescription<T extends object>(schema: T, source: Schema): T {
  return typeof source.description === 'string' ? { ...schema, description: source.description } : schema;
}

/** Merges `allOf` parts the way the common generators use it: one object split in pieces. */
function mergeAllOf(schema: Schema): Schema {
  const parts = (schema.allOf as unknown[]).filter(isRecord);
  const { allOf: _allOf, ...rest } = schema;
  const merged: Schema = { ...rest };
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      if (key === 'properties' && isRecord(value)) {
        merged.properties = { ...(isRecord(merged.properties) ? merged.properties : {}), ...value };
      } else if (key === 'required' && Array.isArray(value)) {
        const previous = Array.isArray(merged.required) ? merged.required : [];
        merged.required = [...new Set([...previous, ...value])];
      } else if (!(key in merged)) {
        merged[key] = value;
      }
    }
  }
  return merged;
}

class Bounder {
  constructor(
    private readonly root: Schema,
    private readonly limits: SchemaLimits,
  ) {}

  /** Any JSON value, kept finite: scalars only, strings bounded. */
  private anyValue(): GbnfJsonSchema {
    return {
      oneOf: [
        { type: 'string', maxLength: this.limits.maxStringLength },
        { type: 'number' },
        { type: ['boolean', 'null'] },
      ],
    };
  }

  private resolveReference(reference: string): Schema | undefined {
    const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(reference);
    if (!match) return undefined;
    const definitions = this.root[match[1]!];
    if (!isRecord(definitions)) return undefined;
    const found = definitions[decodeURIComponent(match[2]!.replace(/~1/g, '/').replace(/~0/g, '~'))];
    return isRecord(found) ? found : undefined;
  }

  bound(input: unknown, depth = 0): GbnfJsonSchema {
    if (input === true || !isRecord(input) || depth > MAX_DEPTH) return this.anyValue();
    let schema = input;
    if (typeof schema.$ref === 'string') {
      const target = this.resolveReference(schema.$ref);
      if (!target) return this.anyValue();
      const { $ref: _ref, ...rest } = schema;
      return this.bound({ ...target, ...rest }, depth + 1);
    }
    if (Array.isArray(schema.allOf)) schema = mergeAllOf(schema);

    if ('const' in schema) {
      const value = schema.const;
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
        return withDescription({ const: value as string | number | boolean | null }, schema);
      }
    }
    if (Array.isArray(schema.enum)) {
      const values = schema.enum.filter(
        (value) => value === null || ['string', 'number', 'boolean'].includes(typeof value),
      ) as (string | number | boolean | null)[];
      if (values.length > 0) return withDescription({ enum: values }, schema);
    }
    const alternatives = Array.isArray(schema.anyOf) ? schema.anyOf : schema.oneOf;
    if (Array.isArray(alternatives) && alternatives.length > 0) {
      const { anyOf: _anyOf, oneOf: _oneOf, ...shared } = schema;
      const options = alternatives.map((option) =>
        this.bound(isRecord(option) ? { ...shared, ...option } : option, depth + 1),
      );
      return options.length === 1 ? options[0]! : withDescription({ oneOf: options }, schema);
    }

    let types: unknown[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (schema.type === undefined) {
      if (isRecord(schema.properties) || 'additionalProperties' in schema) types = ['object'];
      else if ('items' in schema || 'prefixItems' in schema) types = ['array'];
      else return this.anyValue();
    }
    if (schema.nullable === true && !types.includes('null')) types = [...types, 'null'];
    const options = types
      .filter((type): type is string => typeof type === 'string')
      .map((type) => this.boundType(type, schema, depth));
    if (options.length === 0) return this.anyValue();
    return options.length === 1 ? options[0]! : withDescription({ oneOf: options }, schema);
  }

  private boundType(type: string, schema: Schema, depth: number): GbnfJsonSchema {
    switch (type) {
      case 'string':
        return this.boundString(schema);
      case 'integer':
        return this.boundInteger(schema);
      case 'number':
        return withDescription({ type: 'number' }, schema);
      case 'boolean':
      case 'null':
        return withDescription({ type }, schema);
      case 'array':
        return this.boundArray(schema, depth);
      case 'object':
        return this.boundObject(schema, depth);
      default:
        return this.anyValue();
    }
  }

  private boundString(schema: Schema): GbnfJsonSchema {
    const format = schema.format;
    if (format === 'date-time' || format === 'date' || format === 'time') {
      return withDescription({ type: 'string', format }, schema);
    }
    const maxLength = numberOr(schema.maxLength, this.limits.maxStringLength)!;
    const minLength = Math.min(numberOr(schema.minLength, 0)!, maxLength);
    return withDescription(
      { type: 'string', ...(minLength > 0 ? { minLength } : {}), maxLength: Math.max(0, maxLength) },
      schema,
    );
  }

  private boundInteger(schema: Schema): GbnfJsonSchema {
    const exclusiveMinimum = numberOr(schema.exclusiveMinimum, undefined);
    const exclusiveMaximum = numberOr(schema.exclusiveMaximum, undefined);
    let low = numberOr(schema.minimum, exclusiveMinimum === undefined ? undefined : exclusiveMinimum + 1);
    let high = numberOr(schema.maximum, exclusiveMaximum === undefined ? undefined : exclusiveMaximum - 1);
    if (low === undefined && high === undefined) {
      low = this.limits.minInteger;
      high = this.limits.maxInteger;
    } else if (low === undefined) {
      low = high! - (this.limits.maxInteger - this.limits.minInteger);
    } else if (high === undefined) {
      high = low + (this.limits.maxInteger - this.limits.minInteger);
    }
    low = Math.ceil(low);
    high = Math.floor(high!);
    if (high < low || high - low + 1 > this.limits.maxIntegerEnum) {
      return withDescription({ type: 'integer' }, schema);
    }
    const values: number[] = [];
    for (let value = low; value <= high; value++) values.push(value);
    return withDescription({ enum: values }, schema);
  }

  private boundArray(schema: Schema, depth: number): GbnfJsonSchema {
    const prefixItems = Array.isArray(schema.prefixItems)
      ? schema.prefixItems.map((item) => this.bound(item, depth + 1))
      : undefined;
    const items =
      schema.items === false
        ? undefined
        : schema.items === undefined && prefixItems
          ? undefined
          : this.bound(schema.items ?? true, depth + 1);
    let maxItems = numberOr(schema.maxItems, undefined);
    if (maxItems === undefined) {
      maxItems = items === undefined && prefixItems ? prefixItems.length : this.limits.maxArrayItems;
    }
    const minItems = Math.min(numberOr(schema.minItems, 0)!, maxItems);
    return withDescription(
      {
        type: 'array',
        ...(items ? { items } : {}),
        ...(prefixItems ? { prefixItems } : {}),
        ...(minItems > 0 ? { minItems } : {}),
        maxItems,
      },
      schema,
    );
  }

  private boundObject(schema: Schema, depth: number): GbnfJsonSchema {
    const required = Array.isArray(schema.required)
      ? schema.required.filter((key): key is string => typeof key === 'string')
      : [];
    let properties: Record<string, unknown> | undefined = isRecord(schema.properties)
      ? schema.properties
      : undefined;
    const names = isRecord(schema.propertyNames) ? schema.propertyNames.enum : undefined;
    // A record keyed by an enum (zod's z.record(z.enum(...), ...)) is an object with those keys.
    if (!properties && Array.isArray(names) && names.every((name) => typeof name === 'string')) {
      const valueSchema = isRecord(schema.additionalProperties) ? schema.additionalProperties : true;
      properties = Object.fromEntries((names as string[]).map((name) => [name, valueSchema]));
    }
    if (properties) {
      const bounded = Object.fromEntries(
        Object.entries(properties).map(([key, value]) => [key, this.bound(value, depth + 1)]),
      );
      // Extra keys are never needed from the model, and each one is another place it could go on forever.
      return withDescription(
        {
          type: 'object',
          properties: bounded,
          required: required.filter((key) => key in bounded),
          additionalProperties: false,
        },
        schema,
      );
    }
    if (schema.additionalProperties === false) {
      return withDescription({ type: 'object', properties: {}, additionalProperties: false }, schema);
    }
    const values = this.bound(
      isRecord(schema.additionalProperties) ? schema.additionalProperties : true,
      depth + 1,
    );
    return withDescription(
      {
        type: 'object',
        additionalProperties: values,
        maxProperties: numberOr(schema.maxProperties, this.limits.maxProperties)!,
      },
      schema,
    );
  }
}

/**
 * A copy of a JSON schema in the subset node-llama-cpp turns into a grammar, with every string, list,
 * free-form object and integer bounded, so that the grammar always ends. Keywords the grammar cannot express
 * (patterns, numeric ranges of non-integers) are dropped: the reply is still checked by its reader.
 */
export function boundJsonSchema(
  schema: Record<string, unknown>,
  limits: Partial<SchemaLimits> = {},
): GbnfJsonSchema {
  return new Bounder(schema, { ...DEFAULT_SCHEMA_LIMITS, ...limits }).bound(schema);
}
