import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/core/config';
import { toJsonSchema } from '../../src/core/jsonSchema';
import { configSchema, schemaAt, type Schema } from '../../src/core/schema';

describe('schema', () => {
  it('ships a JSON Schema generated from the DSL description (run `npm run schema` when this fails)', () => {
    const shipped = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'p2p.schema.json'), 'utf8'));
    assert.deepEqual(shipped, toJsonSchema());
  });

  it('documents every key', () => {
    const visit = (s: Schema, path: string) => {
      assert.ok(s.doc.length > 10, `doc of ${path}`);
      if (s.kind === 'object') for (const [k, v] of Object.entries(s.properties)) visit(v, `${path}.${k}`);
      if (s.kind === 'array') visit(s.items, `${path}[]`);
      if (s.kind === 'union') s.anyOf.forEach((a, i) => visit(a, `${path}|${i}`));
    };
    visit(configSchema, '');
  });

  it('shows the defaults that resolution applies', () => {
    const leaves: [string[], unknown][] = [];
    const walk = (o: Record<string, unknown>, path: string[]) => {
      for (const [k, v] of Object.entries(o)) {
        if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, [...path, k]);
        else leaves.push([[...path, k], v]);
      }
    };
    walk(DEFAULTS as unknown as Record<string, unknown>, []);
    for (const [path, value] of leaves) assert.deepEqual(schemaAt(path)?.default, value, path.join('.'));
  });
});
