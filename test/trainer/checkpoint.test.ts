import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { buildModel } from '../../src/model/build';
import { chooseBackend } from '../../src/trainer/backends';
import { saveCheckpoint } from '../../src/trainer/checkpoint';
import { stepOnBatch } from '../../src/trainer/pix2pix';
import { tempDir } from '../support/tempDir';

const scratch = tempDir('p2p-ckpt-');

describe('checkpoints', () => {
  it('leave no tensor behind, however often they are written', async () => {
    const a = analyze(readFileSync(join(__dirname, '../../examples/tiny.p2p.yaml'), 'utf8'));
    const { tf } = await chooseBackend('wasm');
    const nets = {
      generator: buildModel(tf, a.generator!),
      discriminator: buildModel(tf, a.discriminator!),
      gOptimizer: tf.train.adam(1e-3),
      dOptimizer: tf.train.adam(1e-3),
    };
    const x = tf.zeros([5, 32, 32, 1]) as import('@tensorflow/tfjs').Tensor4D;
    const y = tf.zeros([5, 32, 32, 3]) as import('@tensorflow/tfjs').Tensor4D;
    await stepOnBatch(tf, nets, a.config.train, x, y);
    const dir = mkdtempSync(join(scratch, 'ckpt-'));
    const state = { step: 1, totalSteps: 2, order: [], position: 0, rng: 0 };
    await saveCheckpoint(tf, nets, dir, state);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await saveCheckpoint(tf, nets, dir, state);
    assert.equal(tf.memory().numTensors, before);
  });
});
