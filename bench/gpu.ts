// The GPU benchmark, for a machine with a real GPU: the WebGPU adapter (features, limits), the seed model's
// training step (G + D updates) on webgpu at batch 5 and 32 (img/s, GPU time, per-kernel profile), the
// tfjs-webgpu settings that matter for training, the host's own work per step (Dawn's null backend), and
// PyTorch on CUDA on the same graph where that machine has it.
//   npm run bench:gpu [-- --config FILE] [--batches 5,32] [--steps N] [--allow-software]
// It is bundled (dist/bench-gpu.js: tfjs inside, only `webgpu` outside), so a GPU machine needs Node, Dawn and
// this repository's dist/ and bench/ folders, nothing from npm.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/core/analysis';
import { describeAdapter } from '../src/runFolders/contract';
import { trainStep } from '../src/trainer/pix2pix';
import { TRAINING_FLAGS } from '../src/trainer/webgpu';
import { kernelTable, profileStep, stepSetup, type StepSetup } from './setup';

const EXAMPLE = (name: string) => join(__dirname, '..', 'examples', `${name}.p2p.yaml`);

interface Options {
  config: string;
  batches: number[];
  steps: number;
  allowSoftware: boolean;
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
    hostOnly: argv.includes('--host-only'),
  };
}

/** Median wall time of `steps` training steps after one warm-up step (which compiles every pipeline). */
async function stepTime(s: StepSetup, steps: number): Promise<{ warmMs: number; ms: number }> {
  const run = async () => {
    const t = performance.now();
    await trainStep(s.tf, s.nets, s.config.train.loss, s.x, s.y);
    return performance.now() - t;
  };
  const warmMs = await run();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) times.push(await run());
  times.sort((a, b) => a - b);
  return { warmMs, ms: times[Math.floor(times.length / 2)] };
}

/** One profiled step: GPU time per kernel (timestamp queries where the adapter has them). */
async function kernelProfile(s: StepSetup): Promise<string[]> {
  const { kernels } = await profileStep(s);
  const total = kernels.reduce((sum, k) => sum + k.ms, 0);
  const calls = kernels.reduce((sum, k) => sum + k.calls, 0);
  return [
    `    kernels: ${total.toFixed(1)} ms of GPU time in ${calls} dispatches (profiled, one at a time)`,
    ...kernelTable(kernels, 12, '    '),
  ];
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

function child(cmd: string, args: string[]): { imgPerSec?: number; msPerStep?: number; error?: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, env: { ...process.env } });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ') };
  }
}

/** PyTorch on CUDA on the same graph and batch, when this machine's python3 has it. */
function torchCuda(
  config: string,
  batch: number,
  steps: number,
): { imgPerSec?: number; msPerStep?: number; error?: string } {
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

/** The same networks on a random batch of another size. */
function withBatch(s: StepSetup, batch: number): StepSetup {
  const [size, inC, outC] = [s.config.input.size, s.config.input.channels, s.config.output.channels];
  s.tf.dispose([s.x, s.y]);
  return {
    ...s,
    x: s.tf.randomUniform([batch, size, size, inC], -1, 1),
    y: s.tf.randomUniform([batch, size, size, outC], -1, 1),
  };
}

async function hostOnly(o: Options): Promise<void> {
  const s = await stepSetup(o.config, 'webgpu', { dawnFlags: ['backend=null'], batch: o.batches[0] });
  const { ms } = await stepTime(s, o.steps);
  process.stdout.write(JSON.stringify({ msPerStep: ms }) + '\n');
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.hostOnly) return hostOnly(o);
  console.log(
    `node ${process.version}; config ${o.config}; batches ${o.batches.join(', ')}; ${o.steps} timed steps each`,
  );
  let s: StepSetup = await stepSetup(o.config, 'webgpu', { batch: o.batches[0] });
  const adapter = s.chosen.adapter!;
  const device = (s.tf.backend() as unknown as { device: GPUDevice }).device;
  console.log(`adapter: ${describeAdapter(adapter)}; device ${adapter.device}`);
  console.log(
    `  features that matter: ${adapter.features.join(', ') || 'none'}; the device has: ${[...device.features].sort().join(', ')}`,
  );
  console.log(
    `  limits: ${Object.entries(adapter.limits)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  if (adapter.software && !o.allowSoftware) {
    console.log('a software adapter: this benchmark is for a GPU (--allow-software runs it anyway, slowly)');
    return;
  }
  for (const [i, batch] of o.batches.entries()) {
    if (i > 0) s = withBatch(s, batch);
    const { warmMs, ms } = await stepTime(s, o.steps);
    console.log(
      `\nbatch ${batch}: webgpu ${((batch * 1000) / ms).toFixed(1)} img/s, ${ms.toFixed(1)} ms/step (first step ${warmMs.toFixed(0)} ms: pipelines compiled)`,
    );
    (await kernelProfile(s)).forEach((l) => console.log(l));
    if (i === 0) (await settings(s, o.steps)).forEach((l) => console.log(l));
    const torch = torchCuda(o.config, batch, Math.max(o.steps, 20));
    console.log(
      torch.error
        ? `    pytorch-cuda: n/a (${torch.error})`
        : `    pytorch-cuda ${torch.imgPerSec!.toFixed(1)} img/s, ${torch.msPerStep!.toFixed(1)} ms/step: ` +
            `webgpu is ${(ms / torch.msPerStep!).toFixed(1)}x slower`,
    );
  }
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
    `\nhost work per step (Dawn null backend, nothing executed), tiny at batch 5: ${host.error ?? `${host.msPerStep!.toFixed(1)} ms`}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
