// No kernel dominates a training step on wasm: a slow generic kernel (SplitV took 56-65% of a tiny step before
// splitKernels.ts; the busiest kernel now takes 21-28%) shows as a share of the step's kernel time in tf.profile,
// which stays put on a busy machine where a timing would not.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kernelTable, profileStep, stepSetup } from '../../bench/setup';
import { stepOnBatch } from '../../src/trainer/pix2pix';

const root = join(__dirname, '..', '..');

describe('the kernels of a tiny wasm step', () => {
  it('has no kernel above 40% of the kernel time', async () => {
    const step = await stepSetup(join(root, 'examples', 'tiny.p2p.yaml'), 'wasm');
    assert.equal(step.name, 'wasm');
    await stepOnBatch(step.tf, step.nets, step.config.train, step.x, step.y); // kernels set up, weights packed
    const { kernels } = await profileStep(step);
    const total = kernels.reduce((sum, k) => sum + k.ms, 0);
    const [busiest] = kernels;
    assert.ok(kernels.length > 20 && total > 0, 'the profile saw the step');
    assert.ok(busiest.ms / total <= 0.4, `${busiest.name} dominates the step:\n${kernelTable(kernels, 5).join('\n')}`);
  });
});
