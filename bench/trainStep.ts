// One backend's training-step throughput, in its own process (a clean tfjs engine per backend).
// Usage: node --import tsx bench/trainStep.ts CONFIG BACKEND STEPS -> one JSON line on stdout.
import { readFileSync } from 'node:fs';
import { analyze } from '../src/core/analysis';
import type { Backend } from '../src/core/config';
import { buildModel } from '../src/model/build';
import { chooseBackend } from '../src/trainer/backends';
import { trainStep, type Nets } from '../src/trainer/pix2pix';
import { SeededRandom } from '../src/trainer/random';

async function main() {
  const [file, backendName, stepsArg] = process.argv.slice(2);
  const a = analyze(readFileSync(file, 'utf8'));
  if (!a.generator || !a.discriminator) throw new Error(`${file} has errors`);
  const { tf, name } = await chooseBackend(backendName as Backend);
  Math.random = new SeededRandom(0).next;
  const c = a.config;
  const nets: Nets = {
    generator: buildModel(tf, a.generator),
    discriminator: buildModel(tf, a.discriminator),
    gOptimizer: tf.train.adam(c.train.optimizer.lr, c.train.optimizer.beta1, c.train.optimizer.beta2, 1e-8),
    dOptimizer: tf.train.adam(c.train.optimizer.lr, c.train.optimizer.beta1, c.train.optimizer.beta2, 1e-8),
  };
  const b = c.train.batchSize;
  const s = c.input.size;
  const x = tf.randomUniform([b, s, s, c.input.channels], -1, 1) as import('@tensorflow/tfjs').Tensor4D;
  const y = tf.randomUniform([b, s, s, c.output.channels], -1, 1) as import('@tensorflow/tfjs').Tensor4D;
  const warm = performance.now();
  trainStep(tf, nets, c.train.loss, x, y);
  const warmMs = performance.now() - warm;
  const steps = Number(stepsArg);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    trainStep(tf, nets, c.train.loss, x, y);
    times.push(performance.now() - t);
  }
  times.sort((p, q) => p - q);
  const median = times.length ? times[Math.floor(times.length / 2)] : warmMs;
  process.stdout.write(JSON.stringify({ backend: name, batch: b, warmMs, msPerStep: median, imgPerSec: (b * 1000) / median, steps }) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: (e as Error).message.replace(/:?\n\s*/g, '; ') }) + '\n');
  process.exit(1);
});
