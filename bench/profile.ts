// Per-kernel time of one training step (generator + discriminator) on one backend, from tf.profile.
// Usage: node --import tsx bench/profile.ts [CONFIG] [BACKEND]   (default: examples/seed.p2p.yaml wasm)
import type { Backend } from '../src/core/config';
import { trainStep } from '../src/trainer/pix2pix';
import { stepSetup } from './setup';

async function main() {
  const [file = 'examples/seed.p2p.yaml', backendName = 'wasm'] = process.argv.slice(2);
  const { tf, name, config: c, nets, x, y } = await stepSetup(file, backendName as Backend);
  await trainStep(tf, nets, c.train.loss, x, y); // warm-up: kernels set up, weights packed
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await trainStep(tf, nets, c.train.loss, x, y);
  });
  const wall = performance.now() - t0;
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    byKernel.set(k.name, e);
  }
  const rows = [...byKernel].sort((p, q) => q[1].ms - p[1].ms);
  const total = rows.reduce((sum, [, e]) => sum + e.ms, 0);
  console.log(`${file} on ${name}: one step ${(wall / 1000).toFixed(2)} s wall (profiled), kernels ${(total / 1000).toFixed(2)} s`);
  console.log('kernel                          ms    calls   share');
  for (const [k, e] of rows.slice(0, 16)) console.log(`${k.padEnd(26)} ${e.ms.toFixed(0).padStart(8)} ${String(e.calls).padStart(7)} ${((100 * e.ms) / total).toFixed(1).padStart(6)}%`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
