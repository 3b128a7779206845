// The ablation queue: every variant of a sweep is an ordinary run (dist/trainer.js in a child process) in the
// sweep folder. Finished variants are never trained again, stopped or crashed ones resume from their last
// checkpoint, a failed one is recorded and the rest go on. A second variant starts while the first trains when
// the backend has room: CPU backends that use one thread get one variant per spare core (while memory lasts);
// GPU and multi-threaded backends train one at a time unless `parallel` says otherwise.

import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyze } from '../core/analysis';
import type { Backend } from '../core/config';
import { describeVariant, safeName, type Sweep, type SweepVariant } from '../core/sweep';
import { readRun } from '../panel/runState';
import type { TrainerEvent } from '../trainer/contract';
import { writeAtomic } from '../trainer/runDir';
import { appendLog, readSweep, SWEEP_FILE, type SweepPlan } from './folder';
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
    throw new Error(
      `${file} has ${errors.length} error(s):\n${errors.map((d) => `  ${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`).join('\n')}`,
    );
  }
  if (!analysis.sweep)
    throw new Error(
      `${file} has no \`ablation:\` section; add one (e.g. \`ablation: { progressiveSkips: shallowFirst }\`)`,
    );
  if (!analysis.sweep.variants.length) throw new Error(`${file}: the ablation has no variants`);
  return { sweep: analysis.sweep, name };
}

export class SweepRunner {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;

  constructor(
    private readonly options: SweepOptions,
    private readonly onEvent: (e: SweepEvent) => void = () => {},
  ) {}

  /** Asks every running variant to checkpoint and stop, and starts no more. */
  stop(): void {
    this.stopping = true;
    for (const child of this.children.values()) child.send?.({ type: 'stop' });
  }

  /** Stop, wait up to `ms` for the checkpoints, then kill what is left. */
  async shutdown(ms: number): Promise<void> {
    this.stop();
    const exits = [...this.children.values()].map((c) => new Promise((r) => c.once('exit', r)));
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, ms))]);
    for (const c of this.children.values()) c.kill('SIGKILL');
  }

  get runningVariants(): string[] {
    return [...this.children.keys()];
  }

  async run(): Promise<SweepOutcome> {
    const file = path.resolve(this.options.file);
    const { sweep } = loadSweep(file);
    const steps = this.options.steps ?? sweep.steps;
    const sweepDir = path.resolve(this.options.out, safeName(sweep.name));
    mkdirSync(path.join(sweepDir, 'configs'), { recursive: true });

    // Plan: what each variant needs. A variant whose config changed since it ran is not silently mixed in.
    const plan = sweep.variants.map((v) => {
      const dir = path.join(sweepDir, safeName(v.name));
      const configFile = path.join(sweepDir, 'configs', `${safeName(v.name)}.p2p.yaml`);
      const kept = existsSync(path.join(dir, 'config.p2p.yaml'))
        ? readFileSync(path.join(dir, 'config.p2p.yaml'), 'utf8')
        : undefined;
      return { v, dir, configFile, kept };
    });
    const changed = plan.filter((p) => p.kept !== undefined && p.kept !== p.v.text);
    if (changed.length) {
      throw new Error(
        `${changed.map((p) => `\`${p.v.name}\``).join(', ')} changed since ${changed.length === 1 ? 'it' : 'they'} ran in ${sweepDir}; ` +
          `give the sweep a new \`ablation.name\` (or delete ${changed.length === 1 ? 'that folder' : 'those folders'}) so runs of different configs are not mixed`,
      );
    }
    const previous = readSweep(sweepDir);
    const record: SweepPlan = {
      name: sweep.name,
      configFile: file,
      steps,
      seed: sweep.variants[0].config.train.seed,
      data: { ...sweep.variants[0].config.train.data },
      created: previous?.plan.created ?? new Date().toISOString(),
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
    writeAtomic(path.join(sweepDir, SWEEP_FILE), JSON.stringify(record, null, 2) + '\n');

    const files = {
      readText: (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined),
      isLive: () => false,
    };
    const jobs = plan.map((p) => {
      const run = readRun(p.dir, files);
      const hasCheckpoint = existsSync(path.join(p.dir, 'checkpoints', 'latest.json'));
      const done = run?.status === 'completed' && (steps === undefined || run.totalSteps === steps);
      return { ...p, mode: done ? ('done' as const) : hasCheckpoint ? ('resume' as const) : ('new' as const) };
    });
    this.onEvent({ type: 'planned', sweepDir, variants: jobs.map((j) => ({ name: j.v.name, mode: j.mode })) });

    const outcome: SweepOutcome = { sweepDir, completed: [], failed: [], stopped: [], pending: [], report: [] };
    for (const j of jobs) if (j.mode === 'done') outcome.completed.push(j.v.name);
    const queue = jobs.filter((j) => j.mode !== 'done');
    let capacity = this.options.parallel ?? (typeof sweep.parallel === 'number' ? sweep.parallel : 1);
    let capacityKnown = this.options.parallel !== undefined || typeof sweep.parallel === 'number';
    if (capacityKnown)
      this.capacity(sweepDir, capacity, this.options.parallel !== undefined ? '--parallel' : '`ablation.parallel`');

    const report = () => {
      const state = readSweep(sweepDir);
      if (state) outcome.report = writeReport(state);
      this.onEvent({ type: 'report', files: outcome.report });
    };

    await new Promise<void>((resolveAll) => {
      const fill = () => {
        while (!this.stopping && queue.length && this.children.size < capacity) start(queue.shift()!);
        if (this.children.size === 0) resolveAll();
      };
      const start = (job: (typeof queue)[number]) => {
        const name = job.v.name;
        let args: string[];
        if (job.mode === 'resume') {
          args = ['--resume', job.dir];
        } else {
          rmSync(job.dir, { recursive: true, force: true }); // never got to a checkpoint: start it again
          writeAtomic(job.configFile, job.v.text);
          args = ['--config', job.configFile, '--run-dir', job.dir, '--base-dir', path.dirname(file)];
        }
        if (steps !== undefined) args.push('--steps', String(steps));
        if (this.options.backend) args.push('--backend', this.options.backend);
        if (this.options.builtinRoot) args.push('--builtin-root', this.options.builtinRoot);
        appendLog(sweepDir, {
          type: 'start',
          variant: name,
          mode: job.mode === 'resume' ? 'resume' : 'new',
          time: new Date().toISOString(),
        });
        const child = fork(this.options.trainerPath, args, {
          env: this.options.env ?? process.env,
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        this.children.set(name, child);
        let stderr = '';
        child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
        let finished: Extract<TrainerEvent, { type: 'finished' }>['payload'] | undefined;
        let error: string | undefined;
        child.on('message', (e: TrainerEvent) => {
          if (e.type === 'finished') finished = e.payload;
          if (e.type === 'error') error = e.payload.message;
          if (e.type === 'started' && !capacityKnown) {
            capacityKnown = true;
            const auto = this.autoCapacity(e.payload.backend, job.v, queue.length + this.children.size);
            capacity = auto.parallel;
            this.capacity(sweepDir, capacity, auto.why);
            fill();
          }
          this.onEvent({ type: 'variant', variant: name, event: e });
        });
        child.on('exit', (code, signal) => {
          this.children.delete(name);
          const reason = finished?.reason ?? (code === 0 ? 'completed' : 'failed');
          const why =
            reason === 'failed'
              ? (error ?? (stderr.trim().split('\n').pop() || `the trainer exited with ${signal ?? `code ${code}`}`))
              : undefined;
          appendLog(sweepDir, {
            type: 'exit',
            variant: name,
            reason,
            ...(why ? { error: why } : {}),
            time: new Date().toISOString(),
          });
          outcome[reason === 'completed' ? 'completed' : reason === 'failed' ? 'failed' : 'stopped'].push(name);
          this.onEvent({ type: 'exit', variant: name, reason, error: why });
          report();
          fill();
        });
      };
      fill();
    });
    outcome.pending = queue.map((j) => j.v.name);
    report();
    return outcome;
  }

  private capacity(sweepDir: string, parallel: number, why: string): void {
    appendLog(sweepDir, { type: 'capacity', parallel, why, time: new Date().toISOString() });
    this.onEvent({ type: 'capacity', parallel, why });
  }

  private autoCapacity(backend: string, v: SweepVariant, left: number): { parallel: number; why: string } {
    if (!ONE_THREAD.has(backend))
      return { parallel: 1, why: `${backend} uses the whole device: one variant at a time` };
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    const byMemory = Math.max(1, Math.floor((os.freemem() * 0.8) / estimateBytes(v)));
    const parallel = Math.max(1, Math.min(cores, byMemory, left));
    return {
      parallel,
      why: `${backend} trains on one thread: ${cores} cores, free memory for ${byMemory}, ${left} variant${left === 1 ? '' : 's'} to train`,
    };
  }
}
