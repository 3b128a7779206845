// The discriminator's logits for core/critic.ts's overfitting heuristics: its per-patch decisions (`disc_dense`, a
// 2-way softmax whose second column is "real") on training targets, on held-out real images (the test targets)
// and on generated training outputs, each set in its own batches in training mode, as it trains (the batch
// statistics restored after).

import type * as TF from '@tensorflow/tfjs';
import type { ImagePair } from '../data/dataset';
import { criticFromLogits, type CriticScores } from '../core/critic';
import { batchTensor, saveStatistics, targetsOf, type Shapes } from './pix2pix';

type Tf = typeof TF;

/** The discriminator's per-patch softmax (`disc_dense`), sharing its weights. */
function patchDecisions(tf: Tf, d: TF.LayersModel): TF.LayersModel {
  return tf.model({ inputs: d.inputs, outputs: d.getLayer('disc_dense').output as TF.SymbolicTensor });
}

/** Every patch's logit log(p_real / p_fake) for `images` (on [-1, 1]) with their inputs, in batches. */
async function logits(
  tf: Tf,
  patches: TF.LayersModel,
  images: Float32Array,
  pairs: readonly ImagePair[],
  { shapes, batchSize }: { shapes: Shapes; batchSize: number },
): Promise<Float32Array> {
  const { size, inChannels, outChannels } = shapes;
  const per = size * size * outChannels;
  const out: number[] = [];
  for (let i = 0; i < pairs.length; i += batchSize) {
    const chunk = pairs.slice(i, i + batchSize);
    const logit = tf.tidy(() => {
      const image = tf.tensor4d(images.subarray(i * per, (i + chunk.length) * per), [
        chunk.length,
        size,
        size,
        outChannels,
      ]);
      const input = batchTensor(
        tf,
        chunk.map((p) => p.input),
        size,
        inChannels,
      );
      const p = tf.clipByValue(patches.apply([image, input], { training: true }) as TF.Tensor, 1e-7, 1);
      const [fake, real] = tf.split(tf.log(p), 2, -1);
      return tf.sub(real, fake);
    });
    out.push(...(await logit.data()));
    logit.dispose();
  }
  return Float32Array.from(out);
}

/** The critic's scores of the training targets, the test targets and the generated training outputs. */
export async function criticScores(
  tf: Tf,
  d: TF.LayersModel,
  sets: { train: readonly ImagePair[]; test: readonly ImagePair[]; generated: Float32Array },
  options: { shapes: Shapes; batchSize: number },
): Promise<CriticScores | undefined> {
  if (!sets.train.length || !sets.test.length) return undefined;
  const patches = patchDecisions(tf, d);
  const restore = saveStatistics(tf, d);
  try {
    const train = await logits(tf, patches, targetsOf(sets.train, options.shapes), sets.train, options);
    const test = await logits(tf, patches, targetsOf(sets.test, options.shapes), sets.test, options);
    const generated = await logits(tf, patches, sets.generated, sets.train, options);
    return criticFromLogits(train, test, generated);
  } finally {
    restore();
  }
}
