// One backend's training-step throughput, in its own process (a clean tfjs engine per backend).
// Usage: node --import tsx bench/trainStep.ts CONFIG BACKEND STEPS -> one JSON line on stdout.
import type { Backend } from '../src/core/config';
import { stepOnBatch } from '../src/trainer/pix2pix';
import { describeAdapter } from '../src/protocol/trainer';
import { stepSetup } from './setup';

async function main() {
  const [file, backendName, stepsArg] = process.argv.slice(2);
  const { tf, name, chosen, config: c, nets, x, y } = await stepSetup(file, backendName as Backend);
  if (chosen.adapter?.software)
    throw new Error(
      `a software adapter (${describeAdapter(chosen.adapter)}), slower than wasm: npm run bench:gpu measures GPUs`,
    );
  const b = c.train.batchSize;
  const warm = performance.now();
  await stepOnBatch(tf, nets, c.train, x, y);
  const warmMs = performance.now() - warm;
  const steps = Number(stepsArg);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await stepOnBatch(tf, nets, c.train, x, y);
    times.push(performance.now() - t);
  }
  times.sort((p, q) => p - q);
  const median = times.length ? times[Math.floor(times.length / 2)] : warmMs;
  process.stdout.write(
    JSON.stringify({ backend: name, batch: b, warmMs, msPerStep: median, imgPerSec: (b * 1000) / median, steps }) +
      '\n',
  );
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: (e as Error).message.replace(/:?\n\s*/g, '; ') }) + '\n');
  process.exit(1);
});
