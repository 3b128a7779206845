// What the memorisation measures add to an evaluation, as fractions of the evaluation they join: the seed's
// generator at 128x128 (examples/seed.p2p.yaml) on the embedded data, an evaluation of 16 train and 100 test
// images on wasm (the peer, in the same process) against the nearest-neighbour search of the 100 test outputs
// over 200 training targets with C_T (and 1 - SSIM for the 5 sample columns), the run's reference (once per run), and 8 dropout draws of 4
// inputs. Also the search with and without its early exit from a sum (the same answers).
// Run: npm run bench:memorisation

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../src/core/analysis';
import { nearestNeighbours, rmsDistance, type Neighbour } from '../src/core/memorisation';
import { SeededRandom } from '../src/core/random';
import { loadDataset } from '../src/data/dataset';
import { chooseBackend } from '../src/trainer/backends';
import { DIVERSITY_INPUTS, diversityOf, imagesOf, measureTest, referenceOf } from '../src/trainer/memorise';
import { evaluate, targetsOf } from '../src/trainer/pix2pix';
import { createNets } from '../src/model/nets';
import { defaultBuiltinRoot } from '../src/trainer/run';

async function seconds<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t = performance.now();
  const value = await fn();
  return [(performance.now() - t) / 1000, value];
}

/** The search as a plain loop over every pair (no early exit): the peer of nearestNeighbours. */
function exhaustive(queries: Float32Array[], references: Float32Array[]): Neighbour[] {
  return queries.map((q) =>
    references.reduce<Neighbour>(
      (best, r, index) => {
        const distance = rmsDistance(q, r);
        return distance < best.distance ? { index, distance } : best;
      },
      { index: -1, distance: Infinity },
    ),
  );
}

async function main() {
  const file = join(__dirname, '..', 'examples', 'seed.p2p.yaml');
  const { config, generator, discriminator } = analyze(readFileSync(file, 'utf8'));
  if (!generator || !discriminator) throw new Error(`${file} has errors`);
  const { tf } = await chooseBackend('wasm');
  Math.random = new SeededRandom(0).next;
  const nets = createNets(tf, { generator, discriminator, config });
  const rng = new SeededRandom(0);
  const data = await loadDataset(config, { baseDir: join(__dirname, '..'), builtinRoot: defaultBuiltinRoot(), rng });
  const shapes = { size: 128, inChannels: config.input.channels, outChannels: config.output.channels };
  const [train, test] = [data.train.slice(0, 16), data.test.slice(0, 100)];
  const g = nets.generator;
  const mode = config.train.evalMode;
  const [evalSeconds, evaluated] = await seconds(async () => {
    await evaluate(tf, g, train, shapes, 5, mode);
    return evaluate(tf, g, test, shapes, 5, mode);
  });
  const [referenceSeconds, ref] = await seconds(() => referenceOf(data.train, test, shapes, 0)!);
  const [measureSeconds] = await seconds(() => measureTest(ref, evaluated.generated, test, { shapes, ssimCount: 5 }));
  const inputs = test.slice(0, DIVERSITY_INPUTS);
  const [drawSeconds] = await seconds(() => diversityOf(tf, g, inputs, shapes, { draws: 8, seed: 0, step: 0 }));
  const outputs = imagesOf(evaluated.generated, test.length);
  const targets = imagesOf(targetsOf(data.train.slice(0, 200), shapes), Math.min(200, data.train.length));
  const [pruned, a] = await seconds(() => nearestNeighbours(outputs, targets));
  const [plain, b] = await seconds(() => exhaustive(outputs, targets));
  if (a.some((n, i) => n.index !== b[i].index)) throw new Error('the early exit changed a neighbour');
  const share = (s: number) => `${s.toFixed(2)} s  ${((100 * s) / evalSeconds).toFixed(1)}% of the evaluation`;
  console.log(
    `seed generator at 128x128 on wasm, ${test.length} test outputs against ${targets.length} training targets`,
  );
  console.log(`evaluation (16 train + 100 test images, metrics)  ${evalSeconds.toFixed(2)} s  (the peer)`);
  console.log(`nearest neighbours, copy rate, C_T                 ${share(measureSeconds)}`);
  console.log(`the run's reference (once per run)                 ${share(referenceSeconds)}`);
  console.log(`8 dropout draws of ${DIVERSITY_INPUTS} inputs                       ${share(drawSeconds)}`);
  console.log(
    `search alone: ${pruned.toFixed(2)} s with the early exit, ${plain.toFixed(2)} s exhaustive (${(plain / pruned).toFixed(1)}x)`,
  );
}

void main();
