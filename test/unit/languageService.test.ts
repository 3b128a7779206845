import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { complete } from '../../src/server/service/completion';
import { hover } from '../../src/server/service/hover';
import { codeLenses, documentSymbols, inlayHints } from '../../src/server/service/outline';
import { marked } from '../support/marked';

function at(source: string) {
  const m = marked(source);
  const analysis = analyze(m.text);
  const offset = analysis.parsed.lines.offset(m.cursor!);
  return { analysis, offset, m };
}

const hoverAt = (source: string) => {
  const { analysis, offset } = at(source);
  return hover(analysis, offset)?.markdown ?? '';
};
const labels = (source: string) => {
  const { analysis, offset } = at(source);
  return complete(analysis, offset).map((c) => c.label);
};

describe('hover', () => {
  it('shows the Keras rows of a decoder level named in a list', () => {
    const md = hoverAt('generator:\n  dropout: { levels: [1, 2, |3] }\n');
    assert.match(md, /\*\*Decoder level 3\*\*/);
    assert.match(md, /\| unet_upconv2D_3 \(Conv2D\) \| \(None, 8, 8, 256\) \| 2,359,552 \|/);
    assert.match(md, /Channels: 768 = 256 up \+ 512 skip \(from `batch_normalization_3`, encoder level 4\)/);
    assert.match(md, /MACs: 150\.99 M/);
  });

  it('shows what flipping a skip changes', () => {
    const md = hoverAt('generator:\n  decoder:\n    - level: 6\n      sk|ip: true\n');
    assert.match(md, /\*\*Removing this skip\*\* \(level 6\): −1,728 params \(19,303,811 → 19,302,083\)/);
    assert.match(md, /`last_conv` reads 128 → 64 channels/);
    const off = hoverAt('generator:\n  skips: [1, 2, 3, 4, |5]\n');
    assert.match(off, /Removing this skip\*\* \(level 5\).*`unet_upconv2D_6` reads 192 → 64 channels/);
  });

  it('shows totals and the full summary on generator:', () => {
    const md = hoverAt('gen|erator:\n  levels: 7\n');
    assert.match(md, /Total params: 19,303,811 {2}\nTrainable params: 19,295,875 {2}\nNon-trainable params: 7,936/);
    assert.match(md, /```text\n_{100}\nLayer \(type\)/);
  });

  it('documents every key, with numbers withheld while there are errors', () => {
    const md = hoverAt('train:\n  batch|Size: 5\n');
    assert.match(md, /\*\*`train.batchSize`\*\* — Images per step\./);
    assert.match(md, /Default: `5`/);
    const broken = hoverAt('input: { size: 100 }\ngenerator:\n  lev|els: 7\n');
    assert.match(broken, /_No shapes or parameter counts while the config has 1 error\._/);
    assert.match(broken, /`generator.levels`/);
    assert.match(hoverAt('generator:\n  upsampling: trans|pose\n'), /`transpose`: A Conv2DTranspose with stride 2/);
  });
});

describe('defaults that follow other keys', () => {
  it('says where they come from: levels and patch from the size, the discriminator and resize from the preset', () => {
    assert.match(
      hoverAt('input: { size: 256 }\ngenerator:\n  lev|els: 8\n'),
      /Default: `8`, from floor\(log2\(`input.size`\)\) with `input.size` 256/,
    );
    assert.match(
      hoverAt('input: { size: 32 }\ndiscriminator:\n  pat|ch: 16\n'),
      /Default: `32`, from min\(64, `input.size`\) with `input.size` 32/,
    );
    assert.match(hoverAt('discriminator:\n  ty|pe: patchgan\n'), /Default: `"seed"`, from `train.preset: seed`/);
    assert.match(
      hoverAt('train:\n  preset: paper\n  data: { res|ize: squash }\n'),
      /Default: `"cover"`, from `train.preset: paper`/,
    );
    assert.match(hoverAt('train:\n  preset: paper\n  batch|Size: 4\n'), /Default: `1`, from `train.preset: paper`/);
    const { analysis, offset } = at('input: { size: 64 }\ngenerator:\n  levels: |\n');
    const entries = complete(analysis, offset);
    assert.deepEqual(
      entries.map((e) => e.label),
      ['6'],
    );
    assert.match(
      String(entries[0].documentation),
      /^The default here, from floor\(log2\(`input.size`\)\) with `input.size` 64\./,
    );
  });

  it("shows the seed discriminator's convolutions on its keys", () => {
    const md = hoverAt('discriminator:\n  pat|ch: 64\n');
    assert.match(md, /Total params: 857,492/);
    for (const row of ['disc_conv2d_1', 'raw_disc_conv2d_1', 'disc_conv2d_6'])
      assert.match(md, new RegExp(`\\| ${row} \\(TimeDistributed\\) \\|`));
  });

  it('names them at the end of the input line while they are not written', () => {
    const hint = (text: string) => inlayHints(analyze(text)).find((h) => h.position.line === 0)?.label;
    assert.equal(
      hint('input: { size: 256, channels: 3 }\n'),
      '(None, 256, 256, 3) · 8 levels, patch 64 (from size 256)',
    );
    assert.equal(
      hint('input: { size: 32 }\ndiscriminator: { patch: 16 }\n'),
      '(None, 32, 32, 1) · 5 levels (from size 32)',
    );
    assert.equal(
      hint('input: { size: 32 }\ngenerator: { levels: 4 }\ndiscriminator: { patch: 16 }\n'),
      '(None, 32, 32, 1)',
    );
  });
});

describe('completion', () => {
  it('completes top-level and nested keys, leaving out those present', () => {
    assert.deepEqual(labels('|'), ['name', 'input', 'output', 'generator', 'discriminator', 'train', 'ablation']);
    assert.deepEqual(labels('input:\n  size: 64\n  |'), ['channels']);
    assert.ok(labels('generator:\n  levels: 5\n  up|').includes('upsampling'));
    assert.ok(!labels('generator:\n  levels: 5\n  |').includes('levels'));
    assert.deepEqual(labels('train:\n  data:\n    |'), [
      'train',
      'test',
      'transform',
      'split',
      'splitSeed',
      'half',
      'resize',
      'canny',
    ]);
  });

  it('completes keys of list items and flow mappings', () => {
    assert.deepEqual(labels('generator:\n  decoder:\n    - level: 1\n      |'), ['skip', 'dropout', 'filters']);
    assert.deepEqual(labels('generator:\n  decoder:\n    - |'), ['level', 'skip', 'dropout', 'filters']);
    assert.deepEqual(labels('input: { size: 64, |'), ['channels']);
    assert.deepEqual(labels('generator:\n  dropout: { rate: 0.5, | }'), ['levels']);
  });

  it('completes enumerated values, booleans and levels', () => {
    assert.deepEqual(labels('generator:\n  upsampling: |'), ['nearest', 'transpose']);
    assert.deepEqual(labels('generator:\n  skips: |'), ['all', 'none']);
    assert.deepEqual(labels('generator:\n  decoder:\n    - level: 1\n      skip: |'), ['true', 'false']);
    assert.deepEqual(labels('generator:\n  levels: 4\n  skips: [1, |'), ['1', '2', '3']);
    assert.deepEqual(labels('output: { activation: |'), ['tanh', 'sigmoid', 'linear']);
    assert.deepEqual(labels('train:\n  data: { transform: c| }'), ['gray', 'canny', 'paired']);
  });

  it('offers nothing in comments or unknown places', () => {
    assert.deepEqual(labels('# a comm|ent'), []);
    assert.deepEqual(labels('nonsense:\n  |'), []);
  });
});

describe('totals at a glance', () => {
  it('puts totals over generator: and discriminator:', () => {
    const a = analyze('generator:\n  levels: 7\ndiscriminator:\n  patch: 64\n');
    const lenses = codeLenses(a);
    assert.deepEqual(
      lenses.map((l) => l.range.start.line),
      [0, 2],
    );
    assert.match(lenses[0].title, /^Generator: 19,303,811 params · [\d.]+ G MACs$/);
    assert.match(lenses[0].tooltip, /^Generator: 19,303,811 params \(19,295,875 trainable, 7,936 non-trainable\)/);
    assert.match(lenses[1].title, /^Discriminator: 857,492 params/);
    // Both fit a narrow editor when a new file puts them on one line.
    assert.ok(
      lenses.every((l) => l.title.length <= 48),
      lenses.map((l) => l.title).join(' | '),
    );
  });

  it('ends level lines with their output shape and params', () => {
    const a = analyze('generator:\n  levels: 7\n  decoder:\n    - { level: 3, skip: false }\n');
    const hints = inlayHints(a);
    const byLine = new Map(hints.map((h) => [h.position.line, h]));
    assert.equal(byLine.get(1)?.label, 'bottleneck (None, 1, 1, 512) · encoder 8,638,976 params');
    assert.equal(byLine.get(3)?.label, '(None, 8, 8, 256) · 2,360,576 params');
    assert.deepEqual(byLine.get(3)?.position, { line: 3, character: 31 });
  });

  it('gives receptive fields in hovers and on the discriminator line', () => {
    const text =
      'input: { size: 128 }\ngenerator:\n  levels: 7\ndiscriminator:\n  type: patchgan\n  patch: 64\n  layers: 4\n';
    const encoder = hoverAt(text.replace('levels: 7', 'lev|els: 7'));
    assert.match(encoder, /\| 1 \| unet_conv2D_1 \| \(None, 64, 64, 64\) \| [\d,]+ \| 3 px \|/);
    assert.match(encoder, /bottleneck \(None, 1, 1, 512\), which sees 255 px \(all of the 128 px image\)/);
    const critic = hoverAt(text.replace('layers: 4', 'lay|ers: 4'));
    assert.match(critic, /\| disc_conv2d_4 \(TimeDistributed\) \| .* \| 31 px \|/);
    assert.match(critic, /classifies one 64x64 patch .* `disc_conv2d_4`, sees 31 px of it/);
    const hint = inlayHints(analyze(text)).find((h) => h.position.line === 3);
    assert.equal(hint?.label, 'real/fake per 64x64 patch · its last conv sees 31x31 px');
  });

  it('lists levels in the outline', () => {
    const a = analyze('generator:\n  levels: 4\n');
    const generator = documentSymbols(a).find((s) => s.name === 'generator')!;
    assert.deepEqual(
      generator.children.map((c) => c.name),
      [
        'levels',
        'encoder level 1',
        'encoder level 2',
        'encoder level 3',
        'encoder level 4',
        'decoder level 1',
        'decoder level 2',
        'decoder level 3',
      ],
    );
    assert.match(generator.children[5].detail!, /^\(None, 16, 16, 384\) · 590,464 params · skip · dropout 0.5$/);
  });
});
