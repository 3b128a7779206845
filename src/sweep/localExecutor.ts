// The local executor: every unfinished variant of a sweep is an ordinary run (dist/trainer.js in a child process)
// on this machine. Stopped or crashed ones resume from their last checkpoint, a failed one is recorded and the rest
// go on. A second variant starts while the first trains when the backend has room: CPU backends that use one
// thread get one variant per spare core (while memory lasts); GPU and multi-threaded backends train one at a time
// unless `parallel` says otherwise.

import * as os from 'node:os';
import type { SchedulerState } from '../core/slurm';
import type { SweepVariant } from '../core/sweep';
import { appendLog, readSweep } from '../runFolders/sweepFolder';
import { STOP_GRACE_MS, TrainerProcess, type TrainerExit } from '../host/trainerProcess';
import {
  now,
  type ExecutorOptions,
  type Submission,
  type SweepEvent,
  type SweepExecutor,
  type SweepPass,
  type SweepStatus,
} from './executor';
import { trainerArgs, type Job } from './jobs';
import { writeReport } from './report';

/** Backends whose training runs on one CPU thread: one variant per core fits beside another. */
const ONE_THREAD = new Set(['wasm', 'cpu']);

/** Rough peak bytes of one training process: weights, gradients and two Adam moments, plus activations kept for backprop. */
function estimateBytes(v: SweepVariant): number {
  const params = v.generator.totals.params + v.discriminator.totals.params;
  const acts = (v.generator.totals.activationBytes + v.discriminator.totals.activationBytes) * v.config.train.batchSize;
  return params * 4 * 4 + acts * 4 + 300 * 2 ** 20; // + the Node and tfjs baseline
}

/** The state of one submit: the queue, how many variants may train at once, and whether that is settled. */
interface Queue {
  pass: SweepPass;
  waiting: Job[];
  capacity: number;
  capacityKnown: boolean;
  drained: () => void;
}

export class LocalExecutor implements SweepExecutor {
  readonly kind = 'local';
  private readonly trainers = new Map<string, TrainerProcess>();
  private stopping = false;

  constructor(
    private readonly options: ExecutorOptions,
    private readonly onEvent: (e: SweepEvent) => void,
  ) {}

  get runningVariants(): string[] {
    return [...this.trainers.keys()];
  }

  async submit(pass: SweepPass): Promise<void> {
    const waiting = pass.jobs.filter((j) => j.mode !== 'done');
    const given = pass.parallel;
    await new Promise<void>((drained) => {
      const queue: Queue = { pass, waiting, capacity: given?.count ?? 1, capacityKnown: !!given, drained };
      if (given) this.capacity(pass.sweepDir, given.count, given.from);
      this.fill(queue);
    });
    pass.outcome.pending = waiting.map((j) => j.name);
  }

  /** Running variants are running, queued ones pending; the rest are in their run folders. */
  async status(): Promise<SweepStatus> {
    const states = new Map<string, SchedulerState>();
    for (const name of this.trainers.keys()) states.set(name, { state: 'running', job: 'local' });
    return { states };
  }

  stop(): void {
    void this.cancel();
  }

  submissions(): Submission[] {
    return [];
  }

  /** Asks every running variant to checkpoint and stop, and starts no more. */
  async cancel(): Promise<string> {
    this.stopping = true;
    const running = this.runningVariants;
    for (const trainer of this.trainers.values()) trainer.stop();
    return running.length ? `stopping ${running.join(', ')} (checkpoints)` : 'nothing was running';
  }

  /** Stop, wait up to `ms` for the checkpoints, then kill what is left. */
  async shutdown(ms = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.trainers.values()].map((t) => t.stopAndWait(ms)));
  }

  /** Starts queued variants while there is room; the submit ends when none is left running. */
  private fill(q: Queue): void {
    while (!this.stopping && q.waiting.length && this.trainers.size < q.capacity) this.start(q, q.waiting.shift()!);
    if (this.trainers.size === 0) q.drained();
  }

  private start(q: Queue, job: Job): void {
    const { sweepDir } = q.pass;
    appendLog(sweepDir, {
      type: 'start',
      variant: job.name,
      mode: job.mode === 'resume' ? 'resume' : 'new',
      time: now(),
    });
    const args = trainerArgs(job, q.pass.trainer);
    const trainer = new TrainerProcess({ trainerPath: this.options.trainerPath, args, env: this.options.env }, (e) => {
      if (e.type === 'started' && !q.capacityKnown) this.settleCapacity(q, e.payload.backend);
      this.onEvent({ type: 'variant', variant: job.name, event: e });
    });
    this.trainers.set(job.name, trainer);
    void trainer.exited.then((exit) => this.finish(q, job.name, exit));
  }

  private finish(q: Queue, name: string, exit: TrainerExit): void {
    this.trainers.delete(name);
    const { reason, error } = exit;
    const { sweepDir, outcome } = q.pass;
    appendLog(sweepDir, { type: 'exit', variant: name, reason, ...(error ? { error } : {}), time: now() });
    outcome[reason].push(name);
    this.onEvent({ type: 'exit', variant: name, reason, error });
    const state = readSweep(sweepDir);
    if (state) outcome.report = writeReport(state);
    this.onEvent({ type: 'report', files: outcome.report });
    this.fill(q);
  }

  private settleCapacity(q: Queue, backend: string): void {
    q.capacityKnown = true;
    const auto = autoCapacity(backend, q.pass.sweep.variants[0], q.waiting.length + this.trainers.size);
    q.capacity = auto.parallel;
    this.capacity(q.pass.sweepDir, q.capacity, auto.why);
    this.fill(q);
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
