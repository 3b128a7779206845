import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { channelArithmetic, type ModelGraph } from '../../src/core/graph';
import { kerasSummary } from '../../src/core/kerasSummary';

const root = join(__dirname, '..', '..');
const golden = readFileSync(join(root, 'test/fixtures/seed_generator_unet_upsampling.keras.txt'), 'utf8');
const example = (name: string) => readFileSync(join(root, 'examples', name), 'utf8');

function graphs(text: string): { generator: ModelGraph; discriminator: ModelGraph } {
  const a = analyze(text);
  assert.deepEqual(
    a.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  return { generator: a.generator!, discriminator: a.discriminator! };
}

const layer = (g: ModelGraph, name: string) => {
  const l = g.layers.find((x) => x.name === name);
  assert.ok(l, `layer ${name}`);
  return l;
};

describe('layer graph', () => {
  it('renders the seed generator exactly as Keras summarises it', () => {
    assert.equal(kerasSummary(graphs(example('seed.p2p.yaml')).generator), golden);
  });

  it('defaults to the seed generator', () => {
    assert.equal(kerasSummary(graphs('').generator), golden);
  });

  it('counts the seed totals as Keras does', () => {
    const { totals } = graphs('').generator;
    assert.equal(totals.params, 19_303_811);
    assert.equal(totals.trainableParams, 19_295_875);
    assert.equal(totals.nonTrainableParams, 7_936);
  });

  it('records skip sources and channel arithmetic', () => {
    const g = graphs('').generator;
    const c1 = layer(g, 'concatenate_1');
    assert.deepEqual(c1.skip, { from: 'batch_normalization_5', encoderLevel: 6, upChannels: 512, skipChannels: 512 });
    assert.equal(channelArithmetic(c1), '1024 = 512 up + 512 skip');
    const c3 = layer(g, 'concatenate_3');
    assert.equal(channelArithmetic(c3), '768 = 256 up + 512 skip');
    assert.equal(layer(g, 'concatenate_6').skip?.from, 'unet_conv2D_1');
    assert.equal(c3.part, 'decoder');
    assert.equal(c3.level, 3);
  });

  it('computes MACs and float32 activation memory per layer', () => {
    const g = graphs('').generator;
    assert.equal(layer(g, 'unet_conv2D_1').macs, 64 * 64 * 3 * 3 * 1 * 64);
    assert.equal(layer(g, 'unet_upconv2D_2').macs, 4 * 4 * 3 * 3 * 1024 * 512);
    assert.equal(layer(g, 'unet_input').activationBytes, 128 * 128 * 1 * 4);
    assert.equal(layer(g, 'concatenate_6').activationBytes, 64 * 64 * 128 * 4);
    assert.equal(layer(g, 'batch_normalization_1').macs, 0);
    assert.equal(
      g.totals.macs,
      g.layers.reduce((s, l) => s + l.macs, 0),
    );
  });

  it('drops every Concatenate without skips, shrinking the next convolution', () => {
    const g = graphs(example('encoder-decoder.p2p.yaml')).generator;
    assert.equal(g.layers.filter((l) => l.className === 'Concatenate').length, 0);
    assert.equal(layer(g, 'unet_upconv2D_2').params, 3 * 3 * 512 * 512 + 512);
    assert.deepEqual(layer(g, 'activation_2').inbound, ['dropout_1']);
    assert.equal(g.totals.params, 14_952_131);
  });

  it('applies per-level overrides over shorthands', () => {
    const g = graphs(
      'generator:\n  skips: none\n  dropout: { levels: none }\n  decoder:\n    - { level: 3, skip: true, dropout: 0.25, filters: 100 }\n',
    ).generator;
    assert.equal(g.layers.filter((l) => l.className === 'Concatenate').length, 1);
    assert.equal(layer(g, 'unet_upconv2D_3').outputShape[2], 100);
    assert.equal(layer(g, 'concatenate_1').skip?.from, 'batch_normalization_3');
    assert.deepEqual(layer(g, 'dropout_1').op, { op: 'dropout', rate: 0.25 });
    assert.equal(layer(g, 'dropout_1').level, 3);
  });

  it('builds transposed convolutions for upsampling: transpose', () => {
    const g = graphs('generator: { upsampling: transpose }').generator;
    assert.equal(g.name, 'generator_unet_deconv');
    assert.equal(g.layers.filter((l) => l.className === 'UpSampling2D').length, 0);
    const up1 = layer(g, 'unet_upconv2D_1');
    assert.equal(up1.className, 'Conv2DTranspose');
    assert.deepEqual(up1.outputShape, [2, 2, 512]);
    assert.equal(up1.params, 3 * 3 * 512 * 512 + 512);
    assert.equal(up1.macs, 1 * 1 * 3 * 3 * 512 * 512);
    assert.deepEqual(layer(g, 'last_conv').outputShape, [128, 128, 3]);
  });

  it("tiles the discriminator inputs into patches through the seed's two-stream network", () => {
    const d = graphs('').discriminator;
    assert.deepEqual(layer(d, 'disc_input').outputShape, [128, 128, 3]);
    assert.deepEqual(layer(d, 'disc_raw_input').outputShape, [128, 128, 1]);
    assert.deepEqual(layer(d, 'reshape_3').outputShape, [4, 64, 64, 3]);
    assert.deepEqual(layer(d, 'reshape_4').outputShape, [4, 64, 64, 1]);
    assert.equal(layer(d, 'disc_conv2d_1').params, 3 * 3 * 3 * 64 + 64);
    assert.equal(layer(d, 'raw_disc_conv2d_1').params, 3 * 3 * 1 * 64 + 64);
    assert.deepEqual(layer(d, 'concatenate_1').outputShape, [4, 32, 32, 128]);
    // Only the last pass of the seed's loop reaches the output: 512 filters at half the first level's size.
    assert.deepEqual(layer(d, 'disc_conv2d_6').outputShape, [4, 16, 16, 512]);
    assert.equal(layer(d, 'disc_conv2d_6').params, 3 * 3 * 128 * 512 + 512);
    assert.equal(layer(d, 'disc_dense').params, 16 * 16 * 512 * 2 + 2);
    assert.deepEqual(layer(d, 'disc_output').outputShape, [2]);
    assert.equal(layer(d, 'disc_output').params, 4 * 2 * 2 + 2);
    assert.deepEqual(
      d.layers.filter((l) => /conv2d/.test(l.name)).map((l) => l.name),
      ['disc_conv2d_1', 'raw_disc_conv2d_1', 'disc_conv2d_6'],
    );
    assert.equal(d.totals.params, 857_492);
  });

  it("builds the chained PatchGAN on the concatenated pair with type: patchgan (the paper preset's default)", () => {
    for (const text of ['discriminator: { type: patchgan }\n', 'train: { preset: paper }\n']) {
      const d = graphs(text).discriminator;
      assert.deepEqual(layer(d, 'concatenate_1').outputShape, [128, 128, 4]);
      assert.deepEqual(layer(d, 'reshape_2').outputShape, [4, 64, 64, 4]);
      assert.deepEqual(layer(d, 'disc_conv2d_6').outputShape, [4, 1, 1, 512]);
      assert.equal(layer(d, 'disc_conv2d_1').params, 3 * 3 * 4 * 64 + 64);
      assert.equal(layer(d, 'disc_conv2d_1').macs, 4 * 32 * 32 * 3 * 3 * 4 * 64);
      assert.equal(layer(d, 'time_distributed_1').nonTrainableParams, 128);
      assert.equal(d.totals.params, 6_280_148);
    }
  });
});
