// A tfjs model's weights as the exporters read them (src/model/weights.ts), for the export tests: the BatchNorms'
// parameters and moving statistics drawn first, so that an export that mixed them up would show.
import type * as tf from '@tensorflow/tfjs';
import type { SeededRandom } from '../../src/core/random';
import type { Weight, WeightSource } from '../../src/model/weights';

/** Weights of a tfjs model by layer and weight name; moving statistics made non-trivial first. */
export function weightsOf(tfjs: typeof tf, model: tf.LayersModel, rng: SeededRandom): WeightSource {
  const byName = new Map<string, Weight>();
  for (const layer of model.layers) {
    const values = layer.getWeights().map((w, i) => {
      const name = layer.weights[i].name.split('/').pop()!.replace(/_\d+$/, '');
      const data = w.dataSync() as Float32Array;
      if (name === 'moving_mean' || name === 'gamma' || name === 'beta') return data.map(() => rng.next() - 0.5);
      // Some variances near epsilon's size, so that an export with another epsilon shows.
      if (name === 'moving_variance') return data.map(() => 0.01 + rng.next());
      return data;
    });
    layer.setWeights(layer.getWeights().map((w, i) => tfjs.tensor(values[i], w.shape)));
    layer.weights.forEach((w, i) =>
      byName.set(`${layer.name}/${w.name.split('/').pop()!.replace(/_\d+$/, '')}`, {
        values: values[i],
        shape: w.shape as number[],
      }),
    );
  }
  return (layer, name) => {
    const w = byName.get(`${layer}/${name}`);
    if (!w) throw new Error(`no weight ${layer}/${name}`);
    return w;
  };
}
