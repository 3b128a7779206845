// The fast backend trains the same model as the reference: 100 steps of examples/tiny.p2p.yaml from the same
// seed, on the same batches, on wasm (this project's kernels) and on cpu (pure JavaScript), in two processes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const STEPS = 100;
const builtinRoot = mkdtempSync(join(tmpdir(), 'p2p-curve-'));

interface Curve {
  backend: string;
  losses: number[][];
  seconds: number;
}

function curve(backend: string, perturb = false): Promise<Curve> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', join(__dirname, '..', 'support', 'lossCurve.ts'), backend, String(STEPS), builtinRoot, ...(perturb ? ['perturb'] : [])];
    execFile(process.execPath, args, { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${backend}: ${stderr || stdout || err.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

/** Largest relative difference of any loss (generator L1, GAN, discriminator) over steps [from, to). */
function gap(a: Curve, b: Curve, from: number, to: number): number {
  let worst = 0;
  for (let step = from; step < to; step++) {
    a.losses[step].forEach((v, k) => {
      worst = Math.max(worst, Math.abs(v - b.losses[step][k]) / Math.max(1e-3, Math.abs(b.losses[step][k])));
    });
  }
  return worst;
}

describe('loss curve, fast backend vs cpu', () => {
  it(`is the same over ${STEPS} steps of the tiny config, within what float rounding alone does`, async () => {
    await curve('wasm'); // draws the embedded data once, so the runs below do not race on it
    const cpu = curve('cpu');
    const fast = await curve('wasm');
    // A GAN amplifies rounding: the same run with every initial weight moved by one float32 ulp is the tolerance.
    const rounding = await curve('wasm', true);
    const ref = await cpu;
    assert.equal(fast.backend, 'wasm');
    assert.equal(ref.backend, 'cpu');
    assert.equal(fast.losses.length, STEPS);
    // The first steps agree to float precision; a wrong gradient shows at step 2 (1e-2 and more).
    assert.ok(gap(fast, ref, 0, 5) < 1e-4, `steps 1-5 differ by ${gap(fast, ref, 0, 5)}`);
    const rows: string[] = [];
    for (let s = 0; s < STEPS; s += 10) {
      const backends = gap(fast, ref, s, s + 10);
      const ulp = gap(fast, rounding, s, s + 10);
      rows.push(`steps ${s + 1}-${s + 10}: wasm vs cpu ${backends.toExponential(1)}, one-ulp perturbation ${ulp.toExponential(1)}`);
      assert.ok(backends <= 4 * Math.max(ulp, 1e-4), rows.join('\n'));
    }
    // The losses move: this is a real training run, not a constant.
    assert.ok(fast.losses[STEPS - 1][0] < fast.losses[0][0] * 0.8, `generator L1 from ${fast.losses[0][0]} to ${fast.losses[STEPS - 1][0]}`);
    console.log(`${STEPS} steps: wasm ${fast.seconds.toFixed(1)} s, cpu ${ref.seconds.toFixed(1)} s\n${rows.join('\n')}`);
  });
});
