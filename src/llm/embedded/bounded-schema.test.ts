import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planJsonSchema } from '../../plan/prompt.js';
import { selectionJsonSchema } from '../../select/index.js';
import { boundJsonSchema, DEFAULT_SCHEMA_LIMITS } from './bounded-schema.js';

/** Every place in a bounded schema where a grammar could repeat forever. */
function unboundedPlaces(schema: unknown, path = '$'): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const node = schema as Record<string, unknown>;
  const found: string[] = [];
  const types = Array.isArray(node.type) ? node.type : [node.type];
  if (types.includes('string') && node.format === undefined && typeof node.maxLength !== 'number') {
    found.push(`${path}: string without maxLength`);
  }
  if (types.includes('array') && typeof node.maxItems !== 'number')
    found.push(`${path}: array without maxItems`);
  if (types.includes('integer')) found.push(`${path}: integer that is not an enum`);
  if (node.additionalProperties && typeof node.maxProperties !== 'number') {
    found.push(`${path}: free-form object without maxProperties`);
  }
  for (const [key, value] of Object.entries(node)) {
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries())
        found.push(...unboundedPlaces(item, `${path}.${key}[${index}]`));
    } else if (typeof value === 'object') {
      found.push(...unboundedPlaces(value, `${path}.${key}`));
    }
  }
  return found;
}

describe('boundJsonSchema', () => {
  test('gives unbounded strings, arrays and integers limits so that a grammar always ends', () => {
    const bounded = boundJsonSchema({
      type: 'object',
      properties: {
        name: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' } },
        id: { type: 'integer' },
      },
      required: ['name', 'tags', 'id'],
    }) as { properties: Record<string, Record<string, unknown>> };
    assert.equal(bounded.properties.name!.maxLength, DEFAULT_SCHEMA_LIMITS.maxStringLength);
    assert.equal(bounded.properties.tags!.maxItems, DEFAULT_SCHEMA_LIMITS.maxArrayItems);
    assert.equal((bounded.properties.tags!.items as Record<string, unknown>).maxLength, 400);
    const ids = bounded.properties.id!.enum as number[];
    assert.equal(ids[0], DEFAULT_SCHEMA_LIMITS.minInteger);
    assert.equal(ids.at(-1), DEFAULT_SCHEMA_LIMITS.maxInteger);
  });

  test('keeps the bounds a schema already has', () => {
    const bounded = boundJsonSchema({
      type: 'object',
      properties: {
        reason: { type: 'string', minLength: 2, maxLength: 20 },
        picks: { type: 'array', maxItems: 3, items: { type: 'integer', minimum: 1, maximum: 4 } },
      },
    }) as { properties: Record<string, Record<string, unknown>> };
    assert.deepEqual(bounded.properties.reason, { type: 'string', minLength: 2, maxLength: 20 });
    assert.equal(bounded.properties.picks!.maxItems, 3);
    assert.deepEqual((bounded.properties.picks!.items as { enum: number[] }).enum, [1, 2, 3, 4]);
  });

  test('turns nullable types, anyOf and references into the grammar subset', () => {
    const bounded = boundJsonSchema({
      $defs: { label: { type: 'string', maxLength: 5 } },
      type: 'object',
      properties: {
        maybe: { type: ['string', 'null'] },
        either: { anyOf: [{ $ref: '#/$defs/label' }, { type: 'boolean' }] },
        huge: { type: 'integer', minimum: 0, maximum: 100_000 },
      },
    }) as { properties: Record<string, Record<string, unknown>> };
    assert.deepEqual(bounded.properties.maybe, {
      oneOf: [{ type: 'string', maxLength: 400 }, { type: 'null' }],
    });
    assert.deepEqual(bounded.properties.either, {
      oneOf: [{ type: 'string', maxLength: 5 }, { type: 'boolean' }],
    });
    // Too many values for an enum: the grammar's own 16-digit cap keeps it finite.
    assert.deepEqual(bounded.properties.huge, { type: 'integer' });
  });

  test('writes a record keyed by an enum as an object with those keys', () => {
    const bounded = boundJsonSchema({
      type: 'object',
      propertyNames: { enum: ['image', 'text'] },
      additionalProperties: { type: 'string' },
    }) as Record<string, unknown>;
    assert.deepEqual(bounded, {
      type: 'object',
      properties: { image: { type: 'string', maxLength: 400 }, text: { type: 'string', maxLength: 400 } },
      required: [],
      additionalProperties: false,
    });
  });

  test('bounds free-form objects and values of any type', () => {
    const bounded = boundJsonSchema({ type: 'object' }) as Record<string, unknown>;
    assert.equal(bounded.maxProperties, DEFAULT_SCHEMA_LIMITS.maxProperties);
    assert.deepEqual(unboundedPlaces(bounded), []);
  });

  test("leaves nothing unbounded in the planner's and the selector's schemas", () => {
    assert.deepEqual(unboundedPlaces(boundJsonSchema(planJsonSchema.schema)), []);
    assert.deepEqual(unboundedPlaces(boundJsonSchema(selectionJsonSchema([0, 1], ['local:a', 'hf:b']))), []);
  });

  test('honours smaller limits for small contexts', () => {
    const bounded = boundJsonSchema(
      { type: 'array', items: { type: 'string' } },
      { maxArrayItems: 2, maxStringLength: 8 },
    ) as Record<string, unknown>;
    assert.deepEqual(bounded, { type: 'array', items: { type: 'string', maxLength: 8 }, maxItems: 2 });
  });
});
