// The compiled WebGPU step against tfjs-webgpu's op-by-op step, in one process on one device, per config: img/s
// and their ratio, dispatches per step, GPU memory of the plan, GPU time per kernel (timestamp queries), and the
// host's own work per step on Dawn's null backend (which executes nothing; a child process each).
//   npm run bench:compiled [-- --configs tiny,seed] [--steps N] [--profile] [--compiled-only] [--memory]
// --memory: only the plans' GPU memory at batch 5 and 32, by part, against a buffer of its own for every tensor.
// On lavapipe (CI's software adapter) it measures the host side and the kernels' relative cost; on a GPU, speed.

import { spawnSync } from 'node:child_process';
import { describeAdapter } from '../src/protocol/trainer';
import { CompiledStep } from '../src/trainer/compiled/step';
import { stepSetup } from './setup';
import { EXAMPLE, msPerStep, profileLines, steppers } from './steppers';

interface Options {
  configs: string[];
  steps: number;
  profile: boolean;
  batch?: number;
  /** Time the compiled step alone (exploring a kernel change; the ratio needs both). */
  compiledOnly: boolean;
  /** Only the plans' memory (nothing is timed). */
  memory: boolean;
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
    compiledOnly: argv.includes('--compiled-only'),
    memory: argv.includes('--memory'),
  };
}

function hostChild(config: string, o: Options): { compiled?: number; tfjs?: number | string; error?: string } {
  const flags = [
    '--host-only',
    '--configs',
    config,
    '--steps',
    String(o.steps),
    ...(o.compiledOnly ? ['--compiled-only'] : []),
  ];
  const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...flags], {
    encoding: 'utf8',
    env: { ...process.env },
  });
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
  let tfjs: number | string;
  try {
    tfjs = o.compiledOnly ? 'not run' : await msPerStep(s, s.tfjs, o.steps);
  } catch (e) {
    tfjs = `failed: ${(e as Error).message.split('\n')[0]}`;
  }
  process.stdout.write(JSON.stringify({ compiled, tfjs }) + '\n');
}

async function benchConfig(name: string, o: Options, first: boolean): Promise<void> {
  const s = await steppers(EXAMPLE(name), [], o.batch);
  if (first) console.log(`adapter ${describeAdapter(s.setup.chosen.adapter!)}`);
  const compiled = await msPerStep(s, s.compiled, o.steps);
  const rate = (ms: number) => `${((s.batch * 1000) / ms).toFixed(2)} img/s (${ms.toFixed(1)} ms/step)`;
  console.log(`\n${name} at batch ${s.batch}: ${s.compiled.describe}`);
  if (o.compiledOnly) console.log(`  compiled ${rate(compiled)}`);
  else {
    const tfjs = await msPerStep(s, s.tfjs, o.steps);
    const ratio = (tfjs / compiled).toFixed(2);
    console.log(`  compiled ${rate(compiled)}; tfjs-webgpu ${rate(tfjs)}: compiled is ${ratio}x tfjs-webgpu`);
  }
  const host = hostChild(name, o);
  const tfjsHost = typeof host.tfjs === 'number' ? `${host.tfjs.toFixed(1)} ms` : host.tfjs;
  console.log(
    host.error
      ? `  host work per step (null backend): n/a (${host.error})`
      : `  host work per step (Dawn null backend, nothing executed): compiled ${host.compiled!.toFixed(2)} ms, tfjs-webgpu ${tfjsHost}`,
  );
  if (o.profile) (await profileLines(s, 0)).forEach((l) => console.log(l));
  s.compiled.dispose();
}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** A config's compiled plan at batch 5 and 32, built on the adapter (nothing runs): its GPU memory by part. */
async function memoryReport(name: string, first: boolean): Promise<void> {
  const setup = await stepSetup(EXAMPLE(name), 'webgpu');
  if (first) console.log(`adapter ${describeAdapter(setup.chosen.adapter!)}`);
  const graphs = { ...setup.graphs, config: setup.config };
  for (const batch of [5, 32]) {
    const step = new CompiledStep(setup.chosen.device!, graphs);
    step.plan(batch);
    const m = step.memory();
    const saved = (1 - m.total / m.unshared) * 100;
    console.log(
      `${name} at batch ${batch}: ${MiB(m.total)} (a buffer per tensor: ${MiB(m.unshared)}, ${saved.toFixed(0)}% less): ` +
        `arenas ${MiB(m.arenas)}, generator passes ${MiB(m.generatorPasses)}, ` +
        `discriminator passes ${MiB(m.discriminatorPasses)}, inputs and losses ${MiB(m.plans)}`,
    );
    step.destroy();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.hostOnly) return hostOnly(o);
  if (o.memory) {
    for (const [i, name] of o.configs.entries()) await memoryReport(name, i === 0);
    return;
  }
  console.log(`node ${process.version}; ${o.steps} timed steps per stepper`);
  for (const [i, name] of o.configs.entries()) await benchConfig(name, o, i === 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
