// Each default value has one home: DEFAULTS and ABLATION_DEFAULTS (core/config.ts) and SLURM_DEFAULTS
// (core/slurm.ts). The schema's `default:` fields, which hovers, completion and the JSON Schema show, refer to
// them and never spell a value; and what the resolver gives an empty config is what the schema says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { DERIVED_PATHS, derivedDefault } from '../../src/core/config';
import { configSchema, type Schema } from '../../src/core/schema';

const schemaSource = readFileSync(join(__dirname, '..', '..', 'src', 'core', 'schema.ts'), 'utf8');

/** Every `default` of the schema with its path, through objects and unions. */
function defaults(s: Schema, path: string[] = []): [string, unknown][] {
  const own: [string, unknown][] = 'default' in s && s.default !== undefined ? [[path.join('.'), s.default]] : [];
  if (s.kind === 'object')
    return [...own, ...Object.entries(s.properties).flatMap(([k, v]) => defaults(v, [...path, k]))];
  return own;
}

const at = (value: unknown, path: string) =>
  path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);

describe('defaults', () => {
  it('are never spelt out in the schema: every default: refers to the tables', () => {
    // A property `default:` (not the word in a doc string) followed by a literal.
    const literal = /(?:^|[{,])\s*default:\s*('|"|\d|-\d|\[|true\b|false\b)/gm;
    const found = [...schemaSource.matchAll(literal)].map((m) => schemaSource.slice(m.index, m.index + 40));
    assert.deepEqual(found, [], 'a default value written in schema.ts: put it in DEFAULTS and refer to it');
  });

  it('are what the resolver gives an empty config, key for key', () => {
    const { config } = analyze('');
    // The generator's skips and dropout resolve into per-level decoder entries, not keys of their own.
    const perLevel = new Set(['generator.skips', 'generator.dropout.rate', 'generator.dropout.levels']);
    const keys = defaults(configSchema).filter(([p]) => !p.startsWith('ablation') && !perLevel.has(p));
    assert.ok(keys.length > 30, `${keys.length} defaults`);
    for (const [path, value] of keys) assert.deepEqual(at(config, path), value, path);
    const levels = config.generator.decoder;
    assert.ok(
      levels.every((d) => d.skip),
      'skips: all',
    );
    assert.deepEqual(
      levels.filter((d) => d.dropout === 0.5).map((d) => d.level),
      [1, 2, 3],
    );
  });

  it('that follow other keys are what the resolver gives, for each preset, size and patch', () => {
    const configs = ['seed', 'paper'].flatMap((preset) =>
      [16, 64, 128, 256].flatMap((size) =>
        ['', `\ndiscriminator: { patch: ${Math.min(size, 16)} }`].map(
          (patch) => `input: { size: ${size} }\ntrain: { preset: ${preset} }${patch}`,
        ),
      ),
    );
    assert.ok(DERIVED_PATHS.length >= 16, DERIVED_PATHS.join(', '));
    for (const text of configs) {
      const { config, diagnostics } = analyze(text);
      assert.deepEqual(
        diagnostics.filter((d) => d.severity === 'error'),
        [],
        text,
      );
      for (const path of DERIVED_PATHS) {
        if (path === 'discriminator.patch' && text.includes('patch')) continue; // given, not derived
        assert.deepEqual(at(config, path), derivedDefault(path, config)?.value, `${path} in ${JSON.stringify(text)}`);
      }
    }
  });

  it('of ablation: and its slurm: are what a sweep gets when it says nothing', () => {
    const { sweep } = analyze('ablation:\n  dropoutLevels: [none]\n');
    const given = Object.fromEntries(defaults(configSchema).filter(([p]) => p.startsWith('ablation.')));
    const { slurm, ...rest } = sweep!;
    const got: Record<string, unknown> = { ...rest, base: sweep!.variants.some((v) => v.origin === 'base') };
    got.disjointHalves = sweep!.variants.some((v) => v.half);
    for (const key of ['parallel', 'executor', 'select', 'probeSkips', 'base', 'disjointHalves'])
      assert.deepEqual(got[key], given[`ablation.${key}`], key);
    for (const key of ['gres', 'signal', 'requeues'])
      assert.deepEqual(slurm[key as keyof typeof slurm], given[`ablation.slurm.${key}`], key);
  });
});
