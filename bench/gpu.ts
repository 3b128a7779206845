// The GPU benchmark, for a machine with a real GPU: the WebGPU adapter (features, limits), the seed model's
// training step (G + D updates) at batch 5 and 32 on the compiled step and on tfjs-webgpu's (img/s, their ratio,
// the compiled step's GPU time per kernel), PyTorch on CUDA on the same graph where that machine has it, and the
// host's own work per step (Dawn's null backend); with --settings, tfjs-webgpu's flags that matter for training.
//   npm run bench:gpu [-- --config FILE] [--batches 5,32] [--steps N] [--allow-software] [--settings]
// It is bundled (dist/bench-gpu.js: tfjs inside, only `webgpu` outside), so a GPU machine needs Node, Dawn and
// this repository's dist/ and bench/ folders, nothing from npm.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/core/analysis';
import { describeAdapter } from '../src/protocol/trainer';
import { stepOnBatch } from '../src/trainer/pix2pix';
import { disposeNets } from '../src/model/nets';
import { TRAINING_FLAGS } from '../src/trainer/webgpu';
import { stepSetup, type StepSetup } from './setup';
import { EXAMPLE, msPerStep, profileLines, steppers } from './steppers';

interface Options {
  config: string;
  batches: number[];
  steps: number;
  allowSoftware: boolean;
  /** Also time tfjs-webgpu's settings (slow: three rounds of every variant). */
  settings: boolean;
  /** Child mode: host work per step on Dawn's null backend, one JSON line. */
  hostOnly: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => argv[argv.indexOf(flag) + 1];
  return {
    config: argv.includes('--config') ? value('--config') : EXAMPLE('seed'),
    batches: argv.includes('--batches') ? value('--batches').split(',').map(Number) : [5, 32],
    steps: argv.includes('--steps') ? Number(value('--steps')) : 10,
    allowSoftware: argv.includes('--allow-software'),
    settings: argv.includes('--settings'),
    hostOnly: argv.includes('--host-only'),
  };
}

/** Median wall time of `steps` training steps after one warm-up step (which compiles every pipeline). */
async function stepTime(s: StepSetup, steps: number): Promise<{ warmMs: number; ms: number }> {
  const run = async () => {
    const t = performance.now();
    await stepOnBatch(s.tf, s.nets, s.config.train, s.x, s.y);
    return performance.now() - t;
  };
  const warmMs = await run();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) times.push(await run());
  times.sort((a, b) => a - b);
  return { warmMs, ms: times[Math.floor(times.length / 2)] };
}

/**
 * Step time with each tfjs-webgpu setting changed from this project's, one at a time: three interleaved rounds,
 * the median of each, so that a slow spell of the machine does not land on one setting alone.
 */
async function settings(s: StepSetup, steps: number): Promise<string[]> {
  const variants: [string, number | boolean][] = [
    ['WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE', !TRAINING_FLAGS.WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE],
    ['WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 100],
    ['WEBGPU_CPU_FORWARD', false],
    ['WEBGPU_CONV_SEPARATE_IM2COL_SHADER', true],
  ];
  const times: number[][] = [[], ...variants.map(() => [])];
  for (let round = 0; round < 3; round++) {
    times[0].push((await stepTime(s, steps)).ms);
    for (const [i, [flag, value]] of variants.entries()) {
      const saved = s.tf.env().get(flag);
      s.tf.env().set(flag, value);
      times[i + 1].push((await stepTime(s, steps)).ms);
      s.tf.env().set(flag, saved);
    }
  }
  const [base, ...others] = times.map((t) => t.sort((a, b) => a - b)[1]);
  return [
    `    settings (median of 3 interleaved rounds): this project's ${JSON.stringify(TRAINING_FLAGS)}: ${base.toFixed(1)} ms`,
    ...variants.map(
      ([flag, value], i) =>
        `    ${`${flag}=${value}`.padEnd(44)} ${others[i].toFixed(1).padStart(9)} ms  ${(base / others[i]).toFixed(2)}x the speed`,
    ),
  ];
}

interface ChildResult {
  imgPerSec?: number;
  msPerStep?: number;
  compiled?: number;
  tfjs?: number;
  error?: string;
}

function child(cmd: string, args: string[]): ChildResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, env: { ...process.env } });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ') };
  }
}

/** PyTorch on CUDA on the same graph and batch, when this machine's python3 has it. */
function torchCuda(config: string, batch: number, steps: number): ChildResult {
  try {
    const cuda = execFileSync('python3', ['-c', 'import torch; print(torch.cuda.is_available())'], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
    if (cuda.trim() !== 'True') return { error: 'PyTorch sees no CUDA device' };
  } catch {
    return { error: 'python3 with PyTorch is not installed' };
  }
  const a = analyze(readFileSync(config, 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'p2p-bench-gpu-'));
  const files = ['gen', 'disc', 'cfg'].map((n) => join(work, `${n}.json`));
  [a.generator, a.discriminator, a.config].forEach((v, i) => writeFileSync(files[i], JSON.stringify(v)));
  return child('python3', [
    join(__dirname, '..', 'bench', 'torch_step.py'),
    ...files,
    '1',
    String(steps),
    '--device',
    'cuda',
    '--batch',
    String(batch),
  ]);
}

async function hostOnly(o: Options): Promise<void> {
  const s = await steppers(o.config, ['backend=null'], o.batches[0]);
  const compiled = await msPerStep(s, s.compiled, o.steps);
  const tfjs = await msPerStep(s, s.tfjs, o.steps);
  process.stdout.write(JSON.stringify({ compiled, tfjs }) + '\n');
}

/** One batch size: the compiled step and tfjs-webgpu's, the compiled step's kernels, and PyTorch CUDA. */
async function benchBatch(o: Options, batch: number, first: boolean): Promise<void> {
  const s = await steppers(o.config, [], batch);
  if (first) printAdapter(s.setup);
  const compiled = await msPerStep(s, s.compiled, o.steps);
  const tfjs = await msPerStep(s, s.tfjs, o.steps);
  const rate = (ms: number) => `${((batch * 1000) / ms).toFixed(1)} img/s (${ms.toFixed(2)} ms/step)`;
  console.log(`\nbatch ${batch}: ${s.compiled.describe}`);
  console.log(
    `  compiled ${rate(compiled)}; tfjs-webgpu ${rate(tfjs)}: compiled is ${(tfjs / compiled).toFixed(1)}x tfjs-webgpu`,
  );
  (await profileLines(s, o.steps + 2)).forEach((l) => console.log(l));
  if (first && o.settings) (await settings(s.setup, o.steps)).forEach((l) => console.log(l));
  const torch = torchCuda(o.config, batch, Math.max(o.steps, 20));
  console.log(
    torch.error
      ? `  pytorch-cuda: n/a (${torch.error})`
      : `  pytorch-cuda ${torch.imgPerSec!.toFixed(1)} img/s, ${torch.msPerStep!.toFixed(2)} ms/step: ` +
          `compiled reaches ${((100 * torch.msPerStep!) / compiled).toFixed(0)}% of its img/s, tfjs-webgpu ${((100 * torch.msPerStep!) / tfjs).toFixed(0)}%`,
  );
  s.compiled.dispose();
}

function printAdapter(s: StepSetup): void {
  const adapter = s.chosen.adapter!;
  const device = s.chosen.device!;
  console.log(`adapter: ${describeAdapter(adapter)}; device ${adapter.device}`);
  console.log(
    `  features that matter: ${adapter.features.join(', ') || 'none'}; the device has: ${[...device.features].sort().join(', ')}`,
  );
  const limits = Object.entries(adapter.limits).map(([k, v]) => `${k} ${v}`);
  console.log(`  limits: ${limits.join(', ')}`);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.hostOnly) return hostOnly(o);
  console.log(
    `node ${process.version}; config ${o.config}; batches ${o.batches.join(', ')}; ${o.steps} timed steps each`,
  );
  const probe = await stepSetup(o.config, 'webgpu', { batch: 1 });
  if (probe.chosen.adapter!.software && !o.allowSoftware) {
    printAdapter(probe);
    console.log('a software adapter: this benchmark is for a GPU (--allow-software runs it anyway, slowly)');
    return;
  }
  disposeNets(probe.tf, probe.nets);
  for (const [i, batch] of o.batches.entries()) await benchBatch(o, batch, i === 0);
  const host = child(process.execPath, [
    ...process.execArgv,
    process.argv[1],
    '--host-only',
    '--config',
    EXAMPLE('tiny'),
    '--batches',
    '5',
    '--steps',
    String(o.steps),
  ]);
  console.log(
    `\nhost work per step (Dawn null backend, nothing executed), tiny at batch 5: ` +
      (host.error ?? `compiled ${host.compiled!.toFixed(2)} ms, tfjs-webgpu ${host.tfjs!.toFixed(1)} ms`),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
