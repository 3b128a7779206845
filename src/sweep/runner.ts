// The ablation queue: every variant of a sweep is an ordinary run (dist/trainer.js in a child process) in the
// sweep folder. Finished variants are never trained again, stopped or crashed ones resume from their last
// checkpoint, a failed one is recorded and the rest go on. A second variant starts while the first trains when
// the backend has room: CPU backends that use one thread get one variant per spare core (while memory lasts);
// GPU and multi-threaded backends train one at a time unless `parallel` says otherwise.

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyze } from '../core/analysis';
import { describeErrors } from '../core/diagnostics';
import type { Backend } from '../core/config';
import { describeVariant, safeName, type Sweep, type SweepVariant } from '../core/sweep';
import { diskFiles } from '../runFolders/diskFiles';
import { readRun } from '../runFolders/runState';
import type { TrainerEvent } from '../runFolders/contract';
import { STOP_GRACE_MS, TrainerProcess, type TrainerExit } from '../trainer/process';
import { writeAtomic } from '../runFolders/runDir';
import { appendLog, readSweep, SWEEP_FILE, type SweepPlan } from '../runFolders/sweepFolder';
import { writeReport } from './report';

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
  builtinRoot?: string;
  env?: NodeJS.ProcessEnv;
}

export type SweepEvent =
  | { type: 'planned'; sweepDir: string; variants: { name: string; mode: 'done' | 'resume' | 'new' }[] }
  | { type: 'capacity'; parallel: number; why: string }
  | { type: 'variant'; variant: string; event: TrainerEvent }
  | { type: 'exit'; variant: string; reason: 'completed' | 'stopped' | 'failed'; error?: string }
  | { type: 'report'; files: string[] };

export interface SweepOutcome {
  sweepDir: string;
  completed: string[];
  failed: string[];
  stopped: string[];
  /** Variants not started because the sweep was stopped. */
  pending: string[];
  report: string[];
}

/** Backends whose training runs on one CPU thread: one variant per core fits beside another. */
const ONE_THREAD = new Set(['wasm', 'cpu']);

/** Rough peak bytes of one training process: weights, gradients and two Adam moments, plus activations kept for backprop. */
export function estimateBytes(v: SweepVariant): number {
  const params = v.generator.totals.params + v.discriminator.totals.params;
  const acts = (v.generator.totals.activationBytes + v.discriminator.totals.activationBytes) * v.config.train.batchSize;
  return params * 4 * 4 + acts * 4 + 300 * 2 ** 20; // + the Node and tfjs baseline
}

export function loadSweep(file: string): { sweep: Sweep; name: string } {
  const text = readFileSync(file, 'utf8');
  const name = path.basename(file).replace(/\.p2p\.ya?ml$/, '');
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

type Mode = 'done' | 'resume' | 'new';

/** One variant's place in the queue: its run folder, the config file it trains, and what it needs. */
interface Job {
  v: SweepVariant;
  dir: string;
  configFile: string;
  mode: Mode;
}

/** The state of one `run()`: the queue, how many variants may train at once, and what has happened. */
interface Pass {
  file: string;
  sweepDir: string;
  steps?: number;
  queue: Job[];
  capacity: number;
  /** Whether the capacity is settled (given, or worked out from the first variant's backend). */
  capacityKnown: boolean;
  outcome: SweepOutcome;
  drained: () => void;
}

/** What each variant needs; refuses variants whose config changed since they ran, then writes the plan. */
export function planSweep(sweep: Sweep, file: string, sweepDir: string, steps: number | undefined): Job[] {
  mkdirSync(path.join(sweepDir, 'configs'), { recursive: true });
  const jobs = sweep.variants.map((v) => ({
    v,
    dir: path.join(sweepDir, safeName(v.name)),
    configFile: path.join(sweepDir, 'configs', `${safeName(v.name)}.p2p.yaml`),
  }));
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
  return jobs.map((j) => {
    const run = readRun(j.dir, files);
    const done = run?.status === 'completed' && (steps === undefined || run.totalSteps === steps);
    const hasCheckpoint = existsSync(path.join(j.dir, 'checkpoints', 'latest.json'));
    return { ...j, mode: done ? 'done' : hasCheckpoint ? 'resume' : 'new' };
  });
}

function planRecord(sweep: Sweep, file: string, sweepDir: string, steps: number | undefined): SweepPlan {
  const first = sweep.variants[0].config;
  return {
    name: sweep.name,
    configFile: file,
    steps,
    seed: first.train.seed,
    data: { ...first.train.data },
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
    })),
  };
}

export class SweepRunner {
  private readonly trainers = new Map<string, TrainerProcess>();
  private stopping = false;

  constructor(
    private readonly options: SweepOptions,
    private readonly onEvent: (e: SweepEvent) => void = () => {},
  ) {}

  /** Asks every running variant to checkpoint and stop, and starts no more. */
  stop(): void {
    this.stopping = true;
    for (const trainer of this.trainers.values()) trainer.stop();
  }

  /** Stop, wait up to `ms` for the checkpoints, then kill what is left. */
  async shutdown(ms = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.trainers.values()].map((t) => t.stopAndWait(ms)));
  }

  get runningVariants(): string[] {
    return [...this.trainers.keys()];
  }

  async run(): Promise<SweepOutcome> {
    const file = path.resolve(this.options.file);
    const { sweep } = loadSweep(file);
    const steps = this.options.steps ?? sweep.steps;
    const sweepDir = path.resolve(this.options.out, safeName(sweep.name));
    const jobs = planSweep(sweep, file, sweepDir, steps);
    this.onEvent({ type: 'planned', sweepDir, variants: jobs.map((j) => ({ name: j.v.name, mode: j.mode })) });
    const outcome: SweepOutcome = { sweepDir, completed: [], failed: [], stopped: [], pending: [], report: [] };
    outcome.completed.push(...jobs.filter((j) => j.mode === 'done').map((j) => j.v.name));
    const given = this.options.parallel ?? (typeof sweep.parallel === 'number' ? sweep.parallel : undefined);
    const queue = jobs.filter((j) => j.mode !== 'done');
    await new Promise<void>((drained) => {
      const pass: Pass = {
        file,
        sweepDir,
        steps,
        queue,
        capacity: given ?? 1,
        capacityKnown: !!given,
        outcome,
        drained,
      };
      if (given) this.capacity(sweepDir, given, this.options.parallel ? '--parallel' : '`ablation.parallel`');
      this.fill(pass);
    });
    outcome.pending = queue.map((j) => j.v.name);
    this.report(sweepDir, outcome);
    return outcome;
  }

  /** Starts queued variants while there is room; the pass ends when none is left running. */
  private fill(pass: Pass): void {
    while (!this.stopping && pass.queue.length && this.trainers.size < pass.capacity)
      this.start(pass, pass.queue.shift()!);
    if (this.trainers.size === 0) pass.drained();
  }

  private start(pass: Pass, job: Job): void {
    const name = job.v.name;
    appendLog(pass.sweepDir, {
      type: 'start',
      variant: name,
      mode: job.mode === 'resume' ? 'resume' : 'new',
      time: now(),
    });
    const trainer = new TrainerProcess(
      { trainerPath: this.options.trainerPath, args: this.trainerArgs(pass, job), env: this.options.env },
      (e) => {
        if (e.type === 'started' && !pass.capacityKnown) this.settleCapacity(pass, e.payload.backend, job.v);
        this.onEvent({ type: 'variant', variant: name, event: e });
      },
    );
    this.trainers.set(name, trainer);
    void trainer.exited.then((exit) => this.finish(pass, name, exit));
  }

  private trainerArgs(pass: Pass, job: Job): string[] {
    let args: string[];
    if (job.mode === 'resume') args = ['--resume', job.dir];
    else {
      rmSync(job.dir, { recursive: true, force: true }); // never got to a checkpoint: start it again
      writeAtomic(job.configFile, job.v.text);
      args = ['--config', job.configFile, '--run-dir', job.dir, '--base-dir', path.dirname(pass.file)];
    }
    if (pass.steps !== undefined) args.push('--steps', String(pass.steps));
    if (this.options.backend) args.push('--backend', this.options.backend);
    if (this.options.builtinRoot) args.push('--builtin-root', this.options.builtinRoot);
    return args;
  }

  private finish(pass: Pass, name: string, exit: TrainerExit): void {
    this.trainers.delete(name);
    const { reason, error } = exit;
    appendLog(pass.sweepDir, { type: 'exit', variant: name, reason, ...(error ? { error } : {}), time: now() });
    pass.outcome[reason].push(name);
    this.onEvent({ type: 'exit', variant: name, reason, error });
    this.report(pass.sweepDir, pass.outcome);
    this.fill(pass);
  }

  private report(sweepDir: string, outcome: SweepOutcome): void {
    const state = readSweep(sweepDir);
    if (state) outcome.report = writeReport(state);
    this.onEvent({ type: 'report', files: outcome.report });
  }

  private settleCapacity(pass: Pass, backend: string, v: SweepVariant): void {
    pass.capacityKnown = true;
    const auto = autoCapacity(backend, v, pass.queue.length + this.trainers.size);
    pass.capacity = auto.parallel;
    this.capacity(pass.sweepDir, pass.capacity, auto.why);
    this.fill(pass);
  }

  private capacity(sweepDir: string, parallel: number, why: string): void {
    appendLog(sweepDir, { type: 'capacity', parallel, why, time: now() });
    this.onEvent({ type: 'capacity', parallel, why });
  }
}

/** One variant per core for one-thread backends, while memory allows; GPUs and multi-threaded backends one at a time. */
function autoCapacity(backend: string, v: SweepVariant, left: number): { parallel: number; why: string } {
  if (!ONE_THREAD.has(backend)) return { parallel: 1, why: `${backend} uses the whole device: one variant at a time` };
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const byMemory = Math.max(1, Math.floor((os.freemem() * 0.8) / estimateBytes(v)));
  const parallel = Math.max(1, Math.min(cores, byMemory, left));
  return {
    parallel,
    why: `${backend} trains on one thread: ${cores} cores, free memory for ${byMemory}, ${left} variant${left === 1 ? '' : 's'} to train`,
  };
}

const now = () => new Date().toISOString();
