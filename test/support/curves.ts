// Loss curves of the tiny config on two backends, compared as test/trainer/lossCurve.test.ts and
// test/webgpu/lossCurve.test.ts do: each curve comes from test/support/lossCurve.ts in its own process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface Curve {
  backend: string;
  /** What ran the steps: "tfjs", or "compiled (...)". */
  step: string;
  /** Per step: generator L1, GAN, discriminator loss. */
  losses: number[][];
  seconds: number;
  /** The WebGPU device's workgroup storage in bytes (16384 at WebGPU's default limits); absent off WebGPU. */
  workgroupStorage?: number;
}

/** How a curve's run differs from the trainer's: weights one ulp off, a WebGPU device at WebGPU's default limits. */
export interface CurveOptions {
  perturb?: boolean;
  defaultLimits?: boolean;
}

export function curve(backend: string, steps: number, builtinRoot: string, options: CurveOptions = {}): Promise<Curve> {
  return new Promise((resolve, reject) => {
    const args = [
      '--import',
      'tsx',
      join(__dirname, 'lossCurve.ts'),
      backend,
      String(steps),
      builtinRoot,
      ...(options.perturb ? ['perturb'] : []),
      ...(options.defaultLimits ? ['default-limits'] : []),
    ];
    execFile(process.execPath, args, { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${backend}: ${stderr || stdout || err.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

/** Largest relative difference of any loss (generator L1, GAN, discriminator) over steps [from, to). */
export function gap(a: Curve, b: Curve, from: number, to: number): number {
  let worst = 0;
  for (let step = from; step < to; step++) {
    a.losses[step].forEach((v, k) => {
      worst = Math.max(worst, Math.abs(v - b.losses[step][k]) / Math.max(1e-3, Math.abs(b.losses[step][k])));
    });
  }
  return worst;
}

/**
 * The smallest tolerance of a window: backends sum in different orders, which changes a convolution's output by
 * more than one ulp of its weights does, and a GAN can carry that to a few 1e-4 of a loss within 20 steps.
 */
const FLOOR = 2.5e-4;

/**
 * `fast` trains the same model as `ref`: the first step agrees to float precision, and (a wrong gradient shows at
 * step 2, by 1e-2 and more) every 10-step window stays within 4x of what rounding alone does (at least FLOOR). A GAN
 * amplifies rounding, so that is measured: each pair in `spreads` is a run and the same run with every initial
 * weight moved by one float32 ulp, and the widest of their gaps is the tolerance. Returns the table.
 */
export function assertSameCurve(fast: Curve, ref: Curve, spreads: [Curve, Curve][]): string[] {
  const steps = fast.losses.length;
  assert.equal(ref.losses.length, steps);
  // The first step, from the same weights, agrees to float precision. From the second on, Adam's first update has
  // moved each weight whose gradient is rounding noise (a convolution's bias before a BatchNorm) by lr one way or
  // the other; the seed's loop generates in inference mode, where those biases count, so from there the windows'
  // rule holds.
  assert.ok(gap(fast, ref, 0, 1) < 1e-4, `step 1 differs by ${gap(fast, ref, 0, 1)}`);
  const rows: string[] = [];
  for (let s = 0; s < steps; s += 10) {
    const backends = gap(fast, ref, s, s + 10);
    const ulp = Math.max(...spreads.map(([run, perturbed]) => gap(run, perturbed, s, s + 10)));
    rows.push(
      `steps ${s + 1}-${s + 10}: ${fast.backend} vs ${ref.backend} ${backends.toExponential(1)}, one-ulp perturbation ${ulp.toExponential(1)}`,
    );
    assert.ok(backends <= 4 * Math.max(ulp, FLOOR), rows.join('\n'));
  }
  // The losses move: this is a real training run, not a constant.
  assert.ok(
    fast.losses[steps - 1][0] < fast.losses[0][0] * 0.8,
    `generator L1 from ${fast.losses[0][0]} to ${fast.losses[steps - 1][0]}`,
  );
  return rows;
}
