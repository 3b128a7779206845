// The two tfjs networks of a model plan and their Adam optimizers (`train.optimizer`): what the trainer, the
// compiled step's weight transfers, checkpoints and the benchmarks hold.

import type * as TF from '@tensorflow/tfjs';
import type { ModelPlan } from '../core/modelPlan';
import { buildModel } from './build';
import type { Tf } from './tf';

export interface Nets {
  generator: TF.LayersModel;
  discriminator: TF.LayersModel;
  gOptimizer: TF.Optimizer;
  dOptimizer: TF.Optimizer;
}

/** The two networks of a config's graphs and their Adam optimizers (`train.optimizer`), as the trainer and the benchmarks train them. */
export function createNets(tf: Tf, graphs: ModelPlan): Nets {
  const { lr, beta1, beta2 } = graphs.config.train.optimizer;
  return {
    generator: buildModel(tf, graphs.generator),
    discriminator: buildModel(tf, graphs.discriminator),
    gOptimizer: tf.train.adam(lr, beta1, beta2, 1e-8),
    dOptimizer: tf.train.adam(lr, beta1, beta2, 1e-8),
  };
}

export function disposeNets(tf: Tf, nets: Nets): void {
  nets.generator.dispose();
  nets.discriminator.dispose();
  nets.gOptimizer.dispose();
  nets.dOptimizer.dispose();
  tf.disposeVariables();
}
