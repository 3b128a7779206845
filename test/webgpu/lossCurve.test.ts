// WebGPU trains the same model as the reference: 50 steps of examples/tiny.p2p.yaml from the same seed, on the
// same batches, with the same dropout masks, on webgpu (the compiled step; lavapipe in CI, or a GPU) and on wasm,
// each in its own process, the compiled step at the adapter's limits and at WebGPU's default ones; and the first
// steps of tfjs-webgpu's op-by-op step. The reference is wasm because
// test/trainer/lossCurve.test.ts shows wasm trains as tfjs cpu does, within rounding, in a sixth of cpu's time.
// The tolerance is what a one-ulp weight perturbation does to either run.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertSameCurve, curve, gap } from '../support/curves';

const STEPS = 50;
const builtinRoot = mkdtempSync(join(tmpdir(), 'p2p-curve-'));
after(() => rmSync(builtinRoot, { recursive: true, force: true }));

describe('loss curve, webgpu vs wasm', () => {
  it(`is the same over ${STEPS} steps of the tiny config, within what float rounding alone does`, async () => {
    await curve('webgpu', 1, builtinRoot); // draws the embedded data once, so the runs below do not race on it
    // The two wasm runs take one core each; lavapipe then has the machine for the webgpu runs.
    const [ref, refPerturbed] = await Promise.all([
      curve('wasm', STEPS, builtinRoot),
      curve('wasm', STEPS, builtinRoot, { perturb: true }),
    ]);
    const gpu = await curve('webgpu', STEPS, builtinRoot);
    const gpuPerturbed = await curve('webgpu', STEPS, builtinRoot, { perturb: true });
    assert.equal(gpu.backend, 'webgpu');
    assert.match(gpu.step, /^compiled/);
    assert.equal(ref.backend, 'wasm');
    const rows = assertSameCurve(gpu, ref, [
      [gpu, gpuPerturbed],
      [ref, refPerturbed],
    ]);
    console.log(
      `${STEPS} steps: webgpu ${gpu.seconds.toFixed(1)} s, wasm ${ref.seconds.toFixed(1)} s\n${rows.join('\n')}`,
    );
    // The same on a device at WebGPU's default limits (16 KiB of workgroup storage: 16-deep k-steps, not 64).
    const least = await curve('webgpu', STEPS, builtinRoot, { defaultLimits: true });
    assert.equal(least.workgroupStorage, 16384);
    assert.ok(gpu.workgroupStorage! > 16384, `the adapter's workgroup storage: ${gpu.workgroupStorage}`);
    assert.match(least.step, /^compiled/);
    const leastRows = assertSameCurve(least, ref, [
      [gpu, gpuPerturbed],
      [ref, refPerturbed],
    ]);
    console.log(`at the default limits: ${least.seconds.toFixed(1)} s\n${leastRows.join('\n')}`);
    // tfjs-webgpu's op-by-op step (train.backend: webgpu-tfjs) on the first steps: the seed loop's real and
    // generated steps. A kernel whose shader fails to compile (rank 5 is beyond tfjs-webgpu) leaves zeros, by far.
    const tfjsGpu = await curve('webgpu-tfjs', 4, builtinRoot);
    assert.match(tfjsGpu.step, /^tfjs/);
    assert.ok(gap(tfjsGpu, ref, 0, 1) < 1e-4, `webgpu-tfjs step 1 differs by ${gap(tfjsGpu, ref, 0, 1)}`);
    const spread = gap(ref, refPerturbed, 0, 4);
    assert.ok(gap(tfjsGpu, ref, 0, 4) <= 4 * Math.max(spread, 2.5e-4), `webgpu-tfjs steps 1-4 against ${spread}`);
  });
});
