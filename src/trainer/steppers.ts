// What runs a training step: tfjs's graph of ops (pix2pix.ts `trainStep`) on any backend, or, on WebGPU, the
// compiled step (compiled/), which holds the variables on the GPU and brings the tfjs models up to date before
// anything reads them. The trainer and the benchmarks use the one interface.

import type * as TF from '@tensorflow/tfjs';
import type { StepImages } from '../core/trainingLoop';
import type { ModelPlan } from '../core/modelPlan';
import { setDropoutDraw } from '../model/build';
import type { Tf } from '../model/tf';
import type { ChosenBackend } from './backends';
import { downloadNets, uploadNets } from './compiled/models';
import { UnsupportedGraph } from './compiled/layout';
import { CompiledStep, type KernelTime, type StepOptions } from './compiled/step';
import { trainStep, type StepLosses } from './pix2pix';
import { type Nets } from '../model/nets';

export interface Stepper {
  /** "compiled (262 dispatches per step)", "tfjs". */
  describe: string;
  /** One step of `train.loop` on its images; `step` counts steps from the run's start. */
  step(images: StepImages, step: number): Promise<StepLosses>;
  /** Brings the tfjs models (with `optimizers`, the Adam states too) up to date; `step` steps are done. */
  sync(step: number, optimizers: boolean): Promise<void>;
  /** One step with GPU time per kernel, where the stepper can time its kernels. */
  profile?(images: StepImages, step: number): Promise<KernelTime[]>;
  dispose(): void;
}

function tfjsStepper(tf: Tf, nets: Nets, graphs: ModelPlan, describe: string): Stepper {
  const { size, channels } = graphs.config.input;
  const out = graphs.config.output.channels;
  return {
    describe,
    async step(images, step) {
      setDropoutDraw(nets.generator, graphs.config.train.seed, step);
      setDropoutDraw(nets.discriminator, graphs.config.train.seed, step);
      const own: TF.Tensor[] = [];
      const tensor = (data: Float32Array<ArrayBuffer>, batch: number, c: number) => {
        const t = tf.tensor4d(data, [batch, size, size, c]);
        own.push(t);
        return t;
      };
      const x = tensor(images.x, images.batch, channels);
      const y = tensor(images.y, images.batch, out);
      const gx = images.gx === images.x ? x : tensor(images.gx, images.gBatch, channels);
      const gy = images.gy === images.y ? y : tensor(images.gy, images.gBatch, out);
      try {
        return await trainStep(tf, nets, graphs.config.train, { x, y, gx, gy, sees: images.sees });
      } finally {
        tf.dispose(own);
      }
    },
    async sync() {},
    dispose() {},
  };
}

function compiledStepper(tf: Tf, nets: Nets, graphs: ModelPlan, compiled: CompiledStep, batch: number): Stepper {
  const { l1: l1Weight, gan: ganWeight } = graphs.config.train.loss;
  return {
    describe: `compiled (${compiled.dispatches(batch)} dispatches per step at batch ${batch}, ${(compiled.bytes() / 2 ** 20).toFixed(1)} MiB)`,
    async step(images, step) {
      const r = await compiled.step(images, step);
      // tfjs's arithmetic for the totals: float32 products and sums.
      const f = Math.fround;
      const gTotal = f(f(r.l1 * l1Weight) + f(r.gan * ganWeight));
      const dLoss = { both: f(f(r.dFake + r.dReal) * 0.5), generated: r.dFake, real: r.dReal }[images.sees];
      return { gL1: r.l1, gGan: r.gan, gTotal, dLoss };
    },
    sync: (step, optimizers) => downloadNets(tf, compiled, nets, step, optimizers),
    profile: (images, step) => compiled.profile(images, step),
    dispose: () => compiled.destroy(),
  };
}

/**
 * The stepper for a session: the compiled step on WebGPU unless the backend asks for tfjs's or the graph has a
 * layer it does not compile (then tfjs's, saying why). `step` steps are done (the Adam bias corrections resume).
 * `options` set the compiled step's (absent: chosen from the adapter, below), where a test chooses them.
 */
export async function createStepper(
  backend: ChosenBackend,
  nets: Nets,
  graphs: ModelPlan,
  batch: number,
  step: number,
  options?: StepOptions,
): Promise<Stepper> {
  const tf = backend.tf;
  if (!backend.device) return tfjsStepper(tf, nets, graphs, 'tfjs');
  if (!backend.compiledStep) return tfjsStepper(tf, nets, graphs, 'tfjs (train.backend: webgpu-tfjs)');
  // A GPU runs a few hundred workgroups at once (products with fewer tiles are split along K); lavapipe runs one
  // per CPU thread, where a split only adds work.
  const parallelism = backend.adapter?.software ? 1 : 512;
  let compiled: CompiledStep | undefined;
  try {
    compiled = new CompiledStep(backend.device, graphs, options ?? { parallelism });
    compiled.plan(batch);
  } catch (e) {
    compiled?.destroy();
    if (!(e instanceof UnsupportedGraph)) throw e;
    return tfjsStepper(tf, nets, graphs, `tfjs (the compiled step does not cover ${e.message})`);
  }
  await uploadNets(compiled, nets, step);
  return compiledStepper(tf, nets, graphs, compiled, batch);
}
