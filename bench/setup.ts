// One training step's ingredients for the benchmarks: a config's two networks and Adam optimizers on a backend,
// seeded, with a random batch of the config's size (or `batch`).
import { readFileSync } from 'node:fs';
import type * as TF from '@tensorflow/tfjs';
import { analyze } from '../src/core/analysis';
import type { Backend, ResolvedConfig } from '../src/core/config';
import type { ModelGraph } from '../src/core/graph';
import type { Tf } from '../src/model/tf';
import { chooseBackend, type BackendOptions, type ChosenBackend } from '../src/trainer/backends';
import { stepOnBatch } from '../src/trainer/pix2pix';
import { createNets, type Nets } from '../src/model/nets';
import { SeededRandom } from '../src/core/random';

export interface StepSetup {
  tf: Tf;
  name: string;
  chosen: ChosenBackend;
  config: ResolvedConfig;
  nets: Nets;
  graphs: { generator: ModelGraph; discriminator: ModelGraph };
  x: TF.Tensor4D;
  y: TF.Tensor4D;
}

export async function stepSetup(
  file: string,
  backend: Backend,
  options: BackendOptions & { batch?: number } = {},
): Promise<StepSetup> {
  const a = analyze(readFileSync(file, 'utf8'));
  if (!a.generator || !a.discriminator) throw new Error(`${file} has errors`);
  const chosen = await chooseBackend(backend, options);
  const tf = chosen.tf;
  Math.random = new SeededRandom(0).next;
  const c = a.config;
  const nets = createNets(tf, { generator: a.generator, discriminator: a.discriminator, config: c });
  const b = options.batch ?? c.train.batchSize;
  const s = c.input.size;
  const x = tf.randomUniform([b, s, s, c.input.channels], -1, 1) as TF.Tensor4D;
  const y = tf.randomUniform([b, s, s, c.output.channels], -1, 1) as TF.Tensor4D;
  const graphs = { generator: a.generator, discriminator: a.discriminator };
  return { tf, name: chosen.name, chosen, config: c, nets, graphs, x, y };
}

export interface KernelTime {
  name: string;
  ms: number;
  calls: number;
}

/**
 * One profiled training step (after the step the caller has warmed up): time per kernel, busiest first. Op
 * wrappers such as `fusedConv2d__op` are left out: their time is their kernels'.
 */
export async function profileStep(s: StepSetup): Promise<{ wallMs: number; kernels: KernelTime[] }> {
  const t0 = performance.now();
  const info = await s.tf.profile(async () => {
    await stepOnBatch(s.tf, s.nets, s.config.train, s.x, s.y);
  });
  const wallMs = performance.now() - t0;
  const byName = new Map<string, KernelTime>();
  for (const k of info.kernels.filter((k) => !k.name.endsWith('__op'))) {
    const e = byName.get(k.name) ?? { name: k.name, ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    byName.set(k.name, e);
  }
  return { wallMs, kernels: [...byName.values()].sort((a, b) => b.ms - a.ms) };
}

/** The busiest `rows` kernels as table lines: name, ms, calls, share of all kernel time. */
export function kernelTable(kernels: KernelTime[], rows: number, indent = ''): string[] {
  const total = kernels.reduce((sum, k) => sum + k.ms, 0);
  return kernels
    .slice(0, rows)
    .map(
      (k) =>
        `${indent}${k.name.padEnd(26)} ${k.ms.toFixed(1).padStart(9)} ms ` +
        `${String(k.calls).padStart(6)} calls ${((100 * k.ms) / total).toFixed(1).padStart(5)}%`,
    );
}
