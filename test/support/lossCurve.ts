// One backend's loss curve for the tiny config: N training steps from train.seed on the embedded faces, in
// batch order, as the trainer takes them (with the trainer's stepper: on webgpu, the compiled step). Run in its own process (a clean tfjs engine per backend):
//   node --import tsx test/support/lossCurve.ts BACKEND STEPS BUILTIN_ROOT [perturb] [default-limits]
// -> one JSON line on stdout. `perturb` moves every initial weight by about one float32 ulp: how far rounding alone
// takes the curve. `default-limits` opens the WebGPU device at WebGPU's default limits, not the adapter's, and
// loops the GEMMs' k-steps (gemm.ts `GemmOptions.unrolled`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../../src/core/analysis';
import { oneBatch } from '../../src/core/trainingLoop';
import type { Backend } from '../../src/core/config';
import { loadDataset } from '../../src/data/dataset';
import { chooseBackend } from '../../src/trainer/backends';
import { batchFloats } from '../../src/trainer/pix2pix';
import { createNets } from '../../src/model/nets';
import { createStepper } from '../../src/trainer/steppers';
import { SeededRandom } from '../../src/core/random';

async function main() {
  const [backendName, stepsArg, builtinRoot, ...flags] = process.argv.slice(2);
  const perturb = flags.includes('perturb');
  const a = analyze(readFileSync(join(__dirname, '../../examples/tiny.p2p.yaml'), 'utf8'));
  const c = a.config;
  const defaultLimits = flags.includes('default-limits');
  const chosen = await chooseBackend(backendName as Backend, { limits: defaultLimits ? 'default' : 'adapter' });
  const { tf, name } = chosen;
  const rng = new SeededRandom(c.train.seed);
  Math.random = rng.next;
  const data = await loadDataset(c, { baseDir: join(__dirname, '../../examples'), builtinRoot, rng });
  const graphs = { generator: a.generator!, discriminator: a.discriminator!, config: c };
  const nets = createNets(tf, graphs);
  if (perturb)
    for (const w of [...nets.generator.trainableWeights, ...nets.discriminator.trainableWeights])
      w.write(tf.tidy(() => tf.mul(w.read(), 1 + 2 ** -23)));
  const order = new SeededRandom(c.train.seed ^ 0x5bd1e995).shuffle(data.train.map((_, i) => i));
  const b = c.train.batchSize;
  // At the default limits, the k-steps looped: lavapipe's compiler takes minutes over their unrolled 16-deep ones.
  const options = defaultLimits ? { parallelism: 1, unrolled: false } : undefined;
  const stepper = await createStepper(chosen, nets, graphs, b, 0, options);
  const losses: number[][] = [];
  const started = performance.now();
  for (let step = 0; step < Number(stepsArg); step++) {
    const at = (step * b) % (order.length - (order.length % b));
    const idx = order.slice(at, at + b);
    const x = batchFloats(
      idx.map((i) => data.train[i].input),
      c.input.size,
      c.input.channels,
    );
    const y = batchFloats(
      idx.map((i) => data.train[i].target),
      c.input.size,
      c.output.channels,
    );
    const l = await stepper.step(oneBatch(c.train.loop, x, y, b, step), step);
    losses.push([l.gL1, l.gGan, l.dLoss]);
  }
  process.stdout.write(
    JSON.stringify({
      backend: name,
      step: stepper.describe,
      workgroupStorage: chosen.device?.limits.maxComputeWorkgroupStorageSize,
      losses,
      seconds: (performance.now() - started) / 1000,
    }) + '\n',
  );
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: (e as Error).message }) + '\n');
  process.exit(1);
});
