// The fast backend trains the same model as the reference: 50 steps of examples/tiny.p2p.yaml from the same
// seed, on the same batches, on wasm (this project's kernels) and on cpu (pure JavaScript), in two processes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertSameCurve, curve } from '../support/curves';

// 50 steps: a wrong gradient shows from step 2, and the curves have spread to a few 1e-3 by then.
const STEPS = 50;
const builtinRoot = mkdtempSync(join(tmpdir(), 'p2p-curve-'));
after(() => rmSync(builtinRoot, { recursive: true, force: true }));

describe('loss curve, fast backend vs cpu', () => {
  it(`is the same over ${STEPS} steps of the tiny config, within what float rounding alone does`, async () => {
    await curve('wasm', 1, builtinRoot); // draws the embedded data once, so the runs below do not race on it
    // Both runs' sensitivity to rounding counts: which of the two a GAN amplifies more varies with the draws.
    const cpu = Promise.all([curve('cpu', STEPS, builtinRoot), curve('cpu', STEPS, builtinRoot, { perturb: true })]);
    const fast = await curve('wasm', STEPS, builtinRoot);
    const rounding = await curve('wasm', STEPS, builtinRoot, { perturb: true });
    const [ref, refRounding] = await cpu;
    assert.equal(fast.backend, 'wasm');
    assert.equal(ref.backend, 'cpu');
    const rows = assertSameCurve(fast, ref, [
      [fast, rounding],
      [ref, refRounding],
    ]);
    console.log(
      `${STEPS} steps: wasm ${fast.seconds.toFixed(1)} s, cpu ${ref.seconds.toFixed(1)} s\n${rows.join('\n')}`,
    );
  });
});
