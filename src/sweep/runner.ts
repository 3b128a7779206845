// Runs a sweep: reads the config's `ablation:` section, writes the plan (sweep.json and one config file per
// variant) into the sweep folder, and hands the unfinished variants to an executor: the local queue, or a SLURM
// job array (`ablation.executor`, or `--executor`). Finished variants are never trained again.

import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { analyze } from '../core/analysis';
import { describeErrors } from '../core/diagnostics';
import type { Backend } from '../core/config';
import { configNameOf } from '../core/modelPlan';
import { describeVariant, runsLabel, safeName, type Sweep } from '../core/sweep';
import { diskFiles } from '../runFolders/diskFiles';
import { writeAtomic } from '../runFolders/atomicWrite';
import { readSweep, SWEEP_FILE, type SweepPlan } from '../runFolders/sweepFolder';
import type { SweepEvent, SweepExecutor, SweepOutcome, SweepPass } from './executor';
import { createExecutor } from './executors';
import { jobMode, variantConfigFile, type Job } from './jobs';
import { writeReport } from './report';
import { probeInProcess } from '../host/trainerProcess';

export type { SweepEvent, SweepOutcome } from './executor';

export interface SweepOptions {
  /** The `.p2p.yaml` file holding `ablation:`. */
  file: string;
  /** Runs root; the sweep folder is `<out>/<ablation.name>`. */
  out: string;
  trainerPath: string;
  backend?: Backend;
  /** Overrides `ablation.parallel`. */
  parallel?: number;
  /** Overrides `ablation.steps`. */
  steps?: number;
  /** Overrides `ablation.executor`. */
  executor?: 'local' | 'slurm';
  builtinRoot?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadSweep(file: string): { sweep: Sweep; name: string } {
  const text = readFileSync(file, 'utf8');
  const name = configNameOf(file);
  const analysis = analyze(text, name);
  const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    throw new Error(describeErrors(file, analysis.diagnostics));
  }
  if (!analysis.sweep)
    throw new Error(
      `${file} has no \`ablation:\` section; add one (e.g. \`ablation: { progressiveSkips: shallowFirst }\`)`,
    );
  if (!analysis.sweep.variants.length) throw new Error(`${file}: the ablation has no variants`);
  return { sweep: analysis.sweep, name };
}

/** What each variant needs; refuses variants whose config changed since they ran, then writes the plan and configs. */
function planSweep(sweep: Sweep, file: string, sweepDir: string, steps: number | undefined): Job[] {
  mkdirSync(path.join(sweepDir, 'configs'), { recursive: true });
  const jobs = sweep.variants.map((v, index) => {
    const dir = safeName(v.name);
    return { index, v, dir: path.join(sweepDir, dir), configFile: variantConfigFile(sweepDir, dir) };
  });
  const files = diskFiles();
  const changed = jobs.filter((j) => {
    const kept = files.readText(path.join(j.dir, 'config.p2p.yaml'));
    return kept !== undefined && kept !== j.v.text;
  });
  if (changed.length) {
    const one = changed.length === 1;
    throw new Error(
      `${changed.map((j) => `\`${j.v.name}\``).join(', ')} changed since ${one ? 'it' : 'they'} ran in ${sweepDir}; ` +
        `give the sweep a new \`ablation.name\` (or delete ${one ? 'that folder' : 'those folders'}) so runs of different configs are not mixed`,
    );
  }
  writeAtomic(
    path.join(sweepDir, SWEEP_FILE),
    JSON.stringify(planRecord(sweep, file, sweepDir, steps), null, 2) + '\n',
  );
  for (const j of jobs) writeAtomic(j.configFile, j.v.text);
  return jobs.map((j) => ({
    index: j.index,
    name: j.v.name,
    dir: j.dir,
    configFile: j.configFile,
    mode: jobMode(j.dir, steps),
  }));
}

function planRecord(sweep: Sweep, file: string, sweepDir: string, steps: number | undefined): SweepPlan {
  const first = sweep.variants[0].config;
  return {
    name: sweep.name,
    configFile: file,
    steps,
    seed: first.train.seed,
    data: { ...first.train.data },
    executor: sweep.executor,
    select: sweep.select,
    created: readSweep(sweepDir)?.plan.created ?? new Date().toISOString(),
    variants: sweep.variants.map((v) => ({
      name: v.name,
      dir: safeName(v.name),
      origin: v.origin,
      overrides: v.overrides,
      ...describeVariant(v.config),
      params: v.generator.totals.params,
      discriminatorParams: v.discriminator.totals.params,
      macs: v.generator.totals.macs,
      ...(v.replicate ? { replicate: v.replicate } : {}),
      ...(v.half ? { half: v.half } : {}),
    })),
  };
}

export class SweepRunner {
  private executor: SweepExecutor | undefined;
  private stopping = false;

  constructor(
    private readonly options: SweepOptions,
    private readonly onEvent: (e: SweepEvent) => void = () => {},
  ) {}

  /** Asks every running variant of the local queue to checkpoint and stop, and starts no more. */
  stop(): void {
    this.stopping = true;
    this.executor?.stop();
  }

  /** Stop, wait up to `ms` for the checkpoints, then kill what is left (what this process trains). */
  async shutdown(ms?: number): Promise<void> {
    this.stopping = true;
    await this.executor?.shutdown(ms);
  }

  get runningVariants(): string[] {
    return this.executor?.runningVariants ?? [];
  }

  async run(): Promise<SweepOutcome> {
    const file = path.resolve(this.options.file);
    const loaded = loadSweep(file).sweep;
    // `--executor` wins over `ablation.executor`, and the plan records the one used (the panel and --status read it).
    const sweep = { ...loaded, executor: this.options.executor ?? loaded.executor };
    const steps = this.options.steps ?? sweep.steps;
    const sweepDir = path.resolve(this.options.out, safeName(sweep.name));
    const jobs = planSweep(sweep, file, sweepDir, steps);
    const plan = readSweep(sweepDir)!.plan;
    const variants = jobs.map((j) => ({ name: j.name, mode: j.mode }));
    this.onEvent({ type: 'planned', sweepDir, runs: runsLabel(sweep), variants });
    const outcome: SweepOutcome = { sweepDir, completed: [], failed: [], stopped: [], pending: [], report: [] };
    outcome.completed.push(...jobs.filter((j) => j.mode === 'done').map((j) => j.name));
    const { backend, builtinRoot } = this.options;
    const trainer = { baseDir: path.dirname(file), steps, backend, builtinRoot };
    const pass: SweepPass = { sweepDir, sweep, plan, parallel: this.parallel(sweep), jobs, trainer, outcome };
    const { trainerPath, env } = this.options;
    this.executor = createExecutor(sweep.executor, { trainerPath, env }, this.onEvent);
    if (!this.stopping) await this.executor.submit(pass);
    if (sweep.probeSkips && !this.stopping) await this.probeVariants(sweepDir);
    const state = readSweep(sweepDir);
    if (state) outcome.report = writeReport(state);
    this.onEvent({ type: 'report', files: outcome.report });
    return outcome;
  }

  /**
   * `ablation.probeSkips`: each completed run with skips (not the disjoint halves) probed in turn (p2p probe); a
   * failure is reported, not fatal.
   */
  private async probeVariants(sweepDir: string): Promise<void> {
    const state = readSweep(sweepDir);
    if (!state) return;
    const { trainerPath, env, backend, builtinRoot } = this.options;
    for (const [i, v] of state.plan.variants.entries()) {
      if (this.stopping || state.rows[i].status !== 'completed' || v.skips === 'none' || v.half) continue;
      const run = path.join(sweepDir, v.dir);
      try {
        await probeInProcess(trainerPath, { run, backend, builtinRoot }, env);
        this.onEvent({ type: 'probed', variant: v.name });
      } catch (e) {
        this.onEvent({ type: 'probed', variant: v.name, error: (e as Error).message });
      }
    }
  }

  /** Variants at once as `--parallel` or `ablation.parallel` set it; absent: the executor works it out. */
  private parallel(sweep: Sweep): SweepPass['parallel'] {
    const given = this.options.parallel ?? (typeof sweep.parallel === 'number' ? sweep.parallel : undefined);
    const from = this.options.parallel ? '--parallel' : '`ablation.parallel`';
    return given ? { count: given, from } : undefined;
  }
}
