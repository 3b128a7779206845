import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { describeVariant } from '../../src/core/sweep';
import { complete } from '../../src/server/service/completion';
import { hover } from '../../src/server/service/hover';
import { marked } from '../support/marked';

const tiny = readFileSync(join(__dirname, '../../examples/tiny.p2p.yaml'), 'utf8');
const names = (text: string) => analyze(text, 'tiny').sweep!.variants.map((v) => v.name);

describe('ablation sweeps', () => {
  it('removes skips shallowest first, from the U-Net down to an encoder-decoder', () => {
    const a = analyze(`${tiny}ablation:\n  progressiveSkips: shallowFirst\n`, 'tiny');
    assert.deepEqual(a.diagnostics, []);
    const vs = a.sweep!.variants;
    assert.deepEqual(
      vs.map((v) => v.name),
      ['skips-all', 'skips-1-2-3', 'skips-1-2', 'skips-1', 'skips-none'],
    );
    assert.deepEqual(
      vs.map((v) => describeVariant(v.config).skips),
      ['all', '1-2-3', '1-2', '1', 'none'],
    );
    // Fewer concatenated channels, fewer params: each variant is a real graph.
    const params = vs.map((v) => v.generator.totals.params);
    assert.equal(params[0], 194_019);
    for (let i = 1; i < params.length; i++)
      assert.ok(params[i] < params[i - 1], `${vs[i].name} has fewer params than ${vs[i - 1].name}`);
    assert.equal(a.sweep!.name, 'tiny-ablation');
    // The variant text is a config the trainer can read on its own, without the sweep.
    const again = analyze(vs[3].text);
    assert.deepEqual(again.diagnostics, []);
    assert.equal(again.generator!.totals.params, vs[3].generator.totals.params);
    assert.equal(again.sweep, undefined);
  });

  it('removes skips deepest first', () => {
    assert.deepEqual(names(`${tiny}ablation: { progressiveSkips: deepFirst }\n`), [
      'skips-all',
      'skips-2-3-4',
      'skips-3-4',
      'skips-4',
      'skips-none',
    ]);
  });

  it('keeps the base as a variant unless a generated one is the same model', () => {
    assert.deepEqual(names(`${tiny}ablation:\n  dropoutLevels: [none, all]\n`), [
      'base',
      'dropout-none',
      'dropout-all',
    ]);
    assert.deepEqual(names(`${tiny}ablation:\n  base: false\n  dropoutLevels: [none]\n`), ['dropout-none']);
  });

  it('crosses grid axes and merges named variants into the base', () => {
    const a = analyze(
      `${tiny}ablation:\n  base: false\n  grid:\n` +
        '    generator.upsampling: [nearest, transpose]\n    train.loss.l1: [10, 100]\n' +
        '  variants:\n    - name: wide\n      generator: { filters: 32 }\n',
      'tiny',
    );
    assert.deepEqual(a.diagnostics, []);
    assert.deepEqual(
      a.sweep!.variants.map((v) => v.name),
      [
        'upsampling-nearest_l1-10',
        'upsampling-nearest_l1-100',
        'upsampling-transpose_l1-10',
        'upsampling-transpose_l1-100',
        'wide',
      ],
    );
    const wide = a.sweep!.variants[4].config;
    assert.equal(wide.generator.filters, 32);
    assert.deepEqual(
      wide.generator.decoder.map((d) => d.dropout),
      [0.5, 0.5, 0, 0],
      'the base dropout is kept',
    );
    assert.equal(a.sweep!.variants[3].config.train.loss.l1, 100);
    assert.equal(a.sweep!.variants[3].config.generator.upsampling, 'transpose');
  });

  it('flags invalid and duplicate variants where they are written', () => {
    const m = marked(
      `${tiny}ablation:\n  dropoutLevels: [[1, 2], «[7]»]\n  grid:\n    «generator.bogus»: [1]\n` +
        '  variants:\n    - «name: same\n      generator: { skips: all }»\n' +
        '    - name: a\n      train: { seed: 2 }\n    - name: «a»\n      train: { seed: 3 }\n',
    );
    const a = analyze(m.text, 'tiny');
    const got = a.diagnostics.map((d) => [d.code, d.range]);
    assert.deepEqual(got, [
      ['variant-level-range', m.ranges[0]],
      ['unknown-key', m.ranges[1]],
      ['duplicate-variant', m.ranges[2]],
      ['duplicate-variant-name', m.ranges[3]],
    ]);
    assert.match(
      a.diagnostics[0].message,
      /variant `dropout-7`: `generator.dropout.levels`: level 7 does not exist; this generator has decoder levels 1..4/,
    );
    assert.match(
      a.diagnostics[2].message,
      /variant `same` trains the same model with the same settings as `dropout-1-2`/,
    );
    // `dropout-1-2` is the base model, so it stands for the base.
    assert.deepEqual(
      a.sweep!.variants.map((v) => v.name),
      ['dropout-1-2', 'a'],
    );
    // Errors in the sweep leave the base model shown.
    assert.equal(a.generator?.totals.params, 194_019);
  });

  it("varies the discriminator like any other key: the seed's two streams against the chained PatchGAN", () => {
    const a = analyze(`${tiny}ablation:\n  grid:\n    discriminator.type: [seed, patchgan]\n`, 'tiny');
    assert.deepEqual(a.diagnostics, []);
    const vs = a.sweep!.variants;
    assert.deepEqual(
      vs.map((v) => [v.name, v.config.discriminator.type]),
      [
        ['type-seed', 'seed'],
        ['type-patchgan', 'patchgan'],
      ],
    );
    assert.deepEqual(
      vs.map((v) => v.discriminator.totals.params),
      [21_556, 24_708],
    );
  });

  it('hovers a variant with its difference to the base, and completes grid paths', () => {
    const m = marked(
      `${tiny}ablation:\n  progressiveSkips: shallowFirst\n  variants:\n    - name: w|ide\n      generator: { filters: 32 }\n`,
    );
    const a = analyze(m.text, 'tiny');
    const md = hover(a, a.parsed.lines.offset(m.cursor!))!.markdown;
    assert.match(md, /\| wide \| all \| 1-2 @0\.5 \| 770,499 \| \+576,480 \|/);
    const g = marked(`${tiny}ablation:\n  progressiveSkips: shallowFirst\n`);
    const ga = analyze(g.text, 'tiny');
    const off = ga.parsed.lines.offset({
      line: g.cursor?.line ?? ga.parsed.lines.position(g.text.indexOf('progressiveSkips')).line,
      character: 4,
    });
    assert.match(hover(ga, off)!.markdown, /\| skips-none \| none \| 1-2 @0\.5 \| 161,331 \| −32,688 \|/);
    const c = marked(`${tiny}ablation:\n  grid:\n    gen|\n`);
    const labels = complete(analyze(c.text, 'tiny'), analyze(c.text).parsed.lines.offset(c.cursor!)).map(
      (x) => x.label,
    );
    assert.ok(labels.includes('generator.upsampling') && labels.includes('train.loss.l1'), labels.join(', '));
  });
});
