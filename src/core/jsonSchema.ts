// The DSL schema as JSON Schema (draft-07), shipped as schemas/p2p.schema.json for YAML tooling.

import { configSchema, gridPaths, type Schema } from './schema';

type Json = Record<string, unknown>;

function convert(s: Schema): Json {
  const base: Json = { description: s.doc, markdownDescription: s.doc };
  if (s.default !== undefined) base.default = s.default;
  switch (s.kind) {
    case 'object':
      return {
        ...base,
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, convert(v)])),
      };
    case 'array':
      return {
        ...base,
        type: 'array',
        items: convert(s.items),
        ...(s.maxItems !== undefined ? { maxItems: s.maxItems } : {}),
      };
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'string':
      return {
        ...base,
        type: 'string',
        ...(s.enum ? { enum: [...s.enum] } : {}),
        ...(s.enumDocs && s.enum ? { markdownEnumDescriptions: s.enum.map((v) => s.enumDocs?.[v] ?? '') } : {}),
      };
    case 'number': {
      const out: Json = { ...base, type: s.integer ? 'integer' : 'number' };
      if (s.minimum !== undefined) out.minimum = s.minimum;
      if (s.maximum !== undefined) out.maximum = s.maximum;
      if (s.exclusiveMinimum !== undefined) out.exclusiveMinimum = s.exclusiveMinimum;
      if (s.exclusiveMaximum !== undefined) out.exclusiveMaximum = s.exclusiveMaximum;
      return out;
    }
    case 'union':
      return { ...base, anyOf: s.anyOf.map(convert) };
    case 'grid':
      return {
        ...base,
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(
          [...gridPaths()].map(([k, v]) => [k, { type: 'array', minItems: 1, items: convert(v) }]),
        ),
      };
  }
}

export function toJsonSchema(): Json {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://p2p-ablation-lab/schemas/p2p.schema.json',
    title: 'pix2pix Ablation Lab config (.p2p.yaml)',
    ...convert(configSchema),
  };
}
