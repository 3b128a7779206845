// Both training steps of the benchmarks on one WebGPU device: the compiled step and tfjs-webgpu's op-by-op step,
// from the same seeded networks, with the timing and the per-kernel profile table bench/compiled.ts and
// bench/gpu.ts print.
import { join } from 'node:path';
import { oneBatch } from '../src/core/trainingLoop';
import type { KernelTime } from '../src/trainer/compiled/step';
import { createStepper, type Stepper } from '../src/trainer/steppers';
import { stepSetup, type StepSetup } from './setup';

export const EXAMPLE = (name: string) => join(__dirname, '..', 'examples', `${name}.p2p.yaml`);

export interface Steppers {
  setup: StepSetup;
  batch: number;
  x: Float32Array<ArrayBuffer>;
  y: Float32Array<ArrayBuffer>;
  compiled: Stepper;
  tfjs: Stepper;
}

/** Both steppers on one backend's device, from the same seeded networks, with one random batch. */
export async function steppers(config: string, dawnFlags: string[] = [], batch?: number): Promise<Steppers> {
  const setup = await stepSetup(config, 'webgpu', { dawnFlags, batch });
  const b = setup.x.shape[0];
  const graphs = { ...setup.graphs, config: setup.config };
  const compiled = await createStepper(setup.chosen, setup.nets, graphs, b, 0);
  if (!compiled.describe.startsWith('compiled')) throw new Error(`${config}: ${compiled.describe}`);
  const tfjs = await createStepper({ ...setup.chosen, compiledStep: false }, setup.nets, graphs, b, 0);
  const x = (await setup.x.data()) as Float32Array<ArrayBuffer>;
  const y = (await setup.y.data()) as Float32Array<ArrayBuffer>;
  return { setup, batch: b, x, y, compiled, tfjs };
}

/** Median ms per step over `steps` steps after two warm-up steps (the first compiles every pipeline). */
export async function msPerStep(s: Steppers, stepper: Stepper, steps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const t = performance.now();
    await stepper.step(oneBatch(s.setup.config.train.loop, s.x, s.y, s.batch, i), i);
    if (i >= 2) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** GPU time per kind of kernel, busiest first, and the busiest layers. */
export function profileTable(kernels: KernelTime[], rows = 12): string[] {
  const total = kernels.reduce((sum, k) => sum + k.ms, 0);
  const byKind = new Map<string, { ms: number; calls: number }>();
  for (const k of kernels) {
    const e = byKind.get(k.kernel) ?? { ms: 0, calls: 0 };
    e.ms += k.ms;
    e.calls++;
    byKind.set(k.kernel, e);
  }
  const line = (name: string, ms: number, extra: string) =>
    `    ${name.padEnd(44)} ${ms.toFixed(2).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}% ${extra}`;
  return [
    `  GPU time per step (timestamp queries, each kernel alone): ${total.toFixed(1)} ms`,
    ...[...byKind.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([kind, e]) => line(kind, e.ms, `${e.calls} calls`)),
    '  busiest kernels:',
    ...[...kernels]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, rows)
      .map((k) => line(`${k.kernel} ${k.layer}`, k.ms, '')),
  ];
}

/** The compiled step's profile table, or why there is none (an adapter without timestamp queries). */
export async function profileLines(s: Steppers, step: number): Promise<string[]> {
  try {
    const kernels = await s.compiled.profile?.(oneBatch(s.setup.config.train.loop, s.x, s.y, s.batch, step), step);
    return kernels ? profileTable(kernels) : [];
  } catch (e) {
    return [`  GPU time per kernel: n/a (${(e as Error).message})`];
  }
}
