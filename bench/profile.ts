// Per-kernel time of one training step (generator + discriminator) on one backend, from tf.profile.
// Usage: node --import tsx bench/profile.ts [CONFIG] [BACKEND]   (default: examples/seed.p2p.yaml wasm)
import type { Backend } from '../src/core/config';
import { stepOnBatch } from '../src/trainer/pix2pix';
import { kernelTable, profileStep, stepSetup } from './setup';

async function main() {
  const [file = 'examples/seed.p2p.yaml', backendName = 'wasm'] = process.argv.slice(2);
  const step = await stepSetup(file, backendName as Backend);
  await stepOnBatch(step.tf, step.nets, step.config.train, step.x, step.y); // warm-up: kernels set up, weights packed
  const { wallMs, kernels } = await profileStep(step);
  const total = kernels.reduce((sum, k) => sum + k.ms, 0);
  console.log(
    `${file} on ${step.name}: one step ${(wallMs / 1000).toFixed(2)} s wall (profiled), kernels ${(total / 1000).toFixed(2)} s`,
  );
  kernelTable(kernels, 16).forEach((line) => console.log(line));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
