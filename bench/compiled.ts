// The compiled WebGPU step against tfjs-webgpu's op-by-op step, in one process on one device, per config: img/s
// and their ratio, dispatches per step, GPU memory of the plan, GPU time per kernel (timestamp queries), and the
// host's own work per step on Dawn's null backend (which executes nothing; a child process each).
//   npm run bench:compiled [-- --configs tiny,seed] [--steps N] [--profile]
// On lavapipe (CI's software adapter) it measures the host side and the kernels' relative cost; on a GPU, speed.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describeAdapter } from '../src/runFolders/contract';
import type { KernelTime } from '../src/trainer/compiled/step';
import { createStepper, type Stepper } from '../src/trainer/steppers';
import { stepSetup, type StepSetup } from './setup';

export const EXAMPLE = (name: string) => join(__dirname, '..', 'examples', `${name}.p2p.yaml`);

interface Options {
  configs: string[];
  steps: number;
  profile: boolean;
  batch?: number;
  /** Child mode: host work per step of both steppers on Dawn's null backend, one JSON line. */
  hostOnly: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => argv[argv.indexOf(flag) + 1];
  return {
    configs: (argv.includes('--configs') ? value('--configs') : 'tiny,seed').split(','),
    steps: argv.includes('--steps') ? Number(value('--steps')) : 10,
    profile: argv.includes('--profile'),
    batch: argv.includes('--batch') ? Number(value('--batch')) : undefined,
    hostOnly: argv.includes('--host-only'),
  };
}

export interface Steppers {
  setup: StepSetup;
  batch: number;
  x: Float32Array<ArrayBuffer>;
  y: Float32Array<ArrayBuffer>;
  compiled: Stepper;
  tfjs: Stepper;
}

/** Both steppers on one backend's device, from the same seeded networks, with one random batch. */
export async function steppers(config: string, dawnFlags: string[] = [], batch?: number): Promise<Steppers> {
  const setup = await stepSetup(config, 'webgpu', { dawnFlags, batch });
  const b = setup.x.shape[0];
  const graphs = { ...setup.graphs, config: setup.config };
  const compiled = await createStepper(setup.chosen, setup.nets, graphs, b, 0);
  if (!compiled.describe.startsWith('compiled')) throw new Error(`${config}: ${compiled.describe}`);
  const tfjs = await createStepper({ ...setup.chosen, compiledStep: false }, setup.nets, graphs, b, 0);
  const x = (await setup.x.data()) as Float32Array<ArrayBuffer>;
  const y = (await setup.y.data()) as Float32Array<ArrayBuffer>;
  return { setup, batch: b, x, y, compiled, tfjs };
}

/** Median ms per step over `steps` steps after two warm-up steps (the first compiles every pipeline). */
export async function msPerStep(s: Steppers, stepper: Stepper, steps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const t = performance.now();
    await stepper.step(s.x, s.y, s.batch, i);
    if (i >= 2) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** GPU time per kind of kernel, busiest first, and the busiest layers. */
export function profileTable(kernels: KernelTime[], rows = 12): string[] {
  const total = kernels.reduce((sum, k) => sum + k.ms, 0);
  const byKind = new Map<string, { ms: number; calls: number }>();
  for (const k of kernels) {
    const e = byKind.get(k.kernel) ?? { ms: 0, calls: 0 };
    e.ms += k.ms;
    e.calls++;
    byKind.set(k.kernel, e);
  }
  const line = (name: string, ms: number, extra: string) =>
    `    ${name.padEnd(44)} ${ms.toFixed(2).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}% ${extra}`;
  return [
    `  GPU time per step (timestamp queries, each kernel alone): ${total.toFixed(1)} ms`,
    ...[...byKind.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([kind, e]) => line(kind, e.ms, `${e.calls} calls`)),
    '  busiest kernels:',
    ...[...kernels]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, rows)
      .map((k) => line(`${k.kernel} ${k.layer}`, k.ms, '')),
  ];
}

function hostChild(config: string, steps: number): { compiled?: number; tfjs?: number; error?: string } {
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, process.argv[1], '--host-only', '--configs', config, '--steps', String(steps)],
    { encoding: 'utf8', env: { ...process.env } },
  );
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last);
  } catch {
    return { error: (r.stderr || r.stdout || 'no output').trim().split('\n').slice(-3).join('; ') };
  }
}

async function hostOnly(o: Options): Promise<void> {
  const s = await steppers(EXAMPLE(o.configs[0]), ['backend=null'], o.batch);
  const compiled = await msPerStep(s, s.compiled, o.steps);
  const tfjs = await msPerStep(s, s.tfjs, o.steps);
  process.stdout.write(JSON.stringify({ compiled, tfjs }) + '\n');
}

async function benchConfig(name: string, o: Options, first: boolean): Promise<void> {
  const s = await steppers(EXAMPLE(name), [], o.batch);
  if (first) console.log(`adapter ${describeAdapter(s.setup.chosen.adapter!)}`);
  const compiled = await msPerStep(s, s.compiled, o.steps);
  const tfjs = await msPerStep(s, s.tfjs, o.steps);
  const rate = (ms: number) => `${((s.batch * 1000) / ms).toFixed(1)} img/s (${ms.toFixed(1)} ms/step)`;
  console.log(`\n${name} at batch ${s.batch}: ${s.compiled.describe}`);
  console.log(
    `  compiled ${rate(compiled)}; tfjs-webgpu ${rate(tfjs)}: compiled is ${(tfjs / compiled).toFixed(2)}x tfjs-webgpu`,
  );
  const host = hostChild(name, o.steps);
  console.log(
    host.error
      ? `  host work per step (null backend): n/a (${host.error})`
      : `  host work per step (Dawn null backend, nothing executed): compiled ${host.compiled!.toFixed(2)} ms, tfjs-webgpu ${host.tfjs!.toFixed(1)} ms`,
  );
  const kernels = o.profile && (await s.compiled.profile?.(s.x, s.y, s.batch, 0));
  if (kernels) profileTable(kernels).forEach((l) => console.log(l));
  s.compiled.dispose();
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.hostOnly) return hostOnly(o);
  console.log(`node ${process.version}; ${o.steps} timed steps per stepper`);
  for (const [i, name] of o.configs.entries()) await benchConfig(name, o, i === 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
