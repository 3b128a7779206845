// Receptive fields against values worked by hand: the pix2pix paper's 70x70 PatchGAN (three stride-2 and two
// stride-1 4x4 convolutions), the seed's generator at 128 (3x3 stride-2 encoder: 2^(i+1) - 1 at level i) and
// its first decoder convolution, and the two discriminators' trunks inside their patches.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { convolutionFields, fieldText, receptiveFields, stackFields } from '../../src/core/receptiveField';

const example = (name: string) => readFileSync(join(__dirname, '..', '..', 'examples', name), 'utf8');

describe('receptive fields', () => {
  it("gives the paper's PatchGAN (n_layers 3, 4x4 kernels) its 70x70", () => {
    // 1 -> 4 (jump 2) -> 10 (4) -> 22 (8) -> 46 (8) -> 70 (8)
    const fields = stackFields([
      { kernel: 4, strides: 2 },
      { kernel: 4, strides: 2 },
      { kernel: 4, strides: 2 },
      { kernel: 4, strides: 1 },
      { kernel: 4, strides: 1 },
    ]);
    assert.deepEqual(
      fields.map((f) => f.size),
      [4, 10, 22, 46, 70],
    );
    assert.equal(fields.at(-1)!.jump, 8);
  });

  it("gives the seed's encoder 3, 7, 15, ... 255 px and its first decoder convolution 383 px", () => {
    const { generator } = analyze(example('seed.p2p.yaml'));
    const convs = convolutionFields(generator!);
    const encoder = convs.filter((c) => c.layer.part === 'encoder');
    assert.deepEqual(
      encoder.map((c) => [c.layer.name, c.field.size, c.field.jump]),
      [1, 2, 3, 4, 5, 6, 7].map((i) => [`unet_conv2D_${i}`, 2 ** (i + 1) - 1, 2 ** i]),
    );
    // Upsampling halves the jump (128 -> 64); the 3x3 convolution adds 2 x 64.
    assert.equal(receptiveFields(generator!).get('unet_upconv2D_1')!.size, 255 + 2 * 64);
    assert.equal(fieldText(255, 128, 'image'), '255 px (all of the 128 px image)');
    assert.equal(fieldText(63, 128, 'image'), '63 px');
  });

  it("measures the discriminators' trunks in pixels of their patches", () => {
    // The seed's: one 3x3 stride-2 block per stream (3 px), then one more on their concatenation (3 + 2 x 2).
    const seed = convolutionFields(analyze(example('seed.p2p.yaml')).discriminator!);
    assert.deepEqual(
      seed.map((c) => [c.layer.name, c.field.size]),
      [
        ['disc_conv2d_1', 3],
        ['raw_disc_conv2d_1', 3],
        ['disc_conv2d_6', 7],
      ],
    );
    // A chained PatchGAN of 4 layers: 3, 7, 15, 31 px of each 32 px patch.
    const text = 'input: { size: 64 }\ndiscriminator: { type: patchgan, patch: 32, layers: 4 }\n';
    const chained = convolutionFields(analyze(text).discriminator!);
    assert.deepEqual(
      chained.map((c) => c.field.size),
      [3, 7, 15, 31],
    );
  });
});
