// One task of a sweep's job array (`p2p sweep-task SWEEP_DIR`, run by slurm/array.sbatch): trains variant i of
// sweep.json (i from SLURM_ARRAY_TASK_ID) as an ordinary run folder, resuming from its checkpoint when it has one.
// A stop (scancel, preemption: SIGTERM) checkpoints and ends the task, and SLURM decides what follows: a preempted
// task is requeued by SLURM itself, a cancelled one stays cancelled. The time-limit signal (SIGUSR2) checkpoints
// too, and then the task requeues itself: only after it made progress since it started, and at most `requeues`
// times, so a task that cannot advance does not loop.

import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Backend } from '../core/config';
import { EXIT_STOPPED, type TrainerEvent } from '../protocol/trainer';
import { appendLog, readSweep, readSweepLog, type TaskInfo } from '../runFolders/sweepFolder';
import { TrainerProcess, type TrainerExit } from '../host/trainerProcess';
import { now } from './executor';
import { jobMode, trainerArgs, variantConfigFile, type Job } from './jobs';
import { writeReport } from './report';

export interface ArrayTaskOptions {
  sweepDir: string;
  trainerPath: string;
  backend?: Backend;
  builtinRoot?: string;
  /** Self-requeues allowed per task. */
  requeues: number;
  /** The scheduler's variables: SLURM_ARRAY_TASK_ID, SLURM_ARRAY_JOB_ID, SLURM_JOB_ID, SLURM_RESTART_COUNT... */
  env: NodeJS.ProcessEnv;
  /** Lines for the task's log (the array's `slurm/%A_%a.out`). */
  log: (line: string) => void;
}

/** The exit status of a task: 0 completed, 1 failed, EXIT_STOPPED stopped (and maybe requeued). */
export type TaskStatus = 0 | 1 | typeof EXIT_STOPPED;

export class ArrayTask {
  private trainer: TrainerProcess | undefined;
  private startStep = 0;
  private step = 0;
  private timeLimitNear = false;
  private stopped = false;
  private lastPrint = 0;

  constructor(private readonly o: ArrayTaskOptions) {}

  /** SIGUSR2: checkpoint and requeue, as soon as a step was made in this allocation. */
  onTimeLimitSignal(): void {
    this.o.log(`time limit near: checkpoint at the next step past ${this.startStep}, then requeue`);
    this.timeLimitNear = true;
    this.stopIfAdvanced();
  }

  /** SIGTERM, SIGINT: checkpoint and stop; SLURM requeues a preempted task and leaves a cancelled one. */
  onStopSignal(signal: string): void {
    this.o.log(`${signal}: checkpoint and stop`);
    this.stopped = true;
    this.trainer?.stop();
  }

  async run(): Promise<TaskStatus> {
    const job = this.job();
    if (job.mode === 'done') {
      this.o.log(`${job.name}: already completed`);
      return 0;
    }
    if (this.stopped) return EXIT_STOPPED;
    const task = this.taskInfo();
    const { sweepDir } = this.o;
    this.o.log(
      `${job.name}: ${job.mode === 'resume' ? 'resuming' : 'training'} as ${task.job} on ${task.node ?? '?'}, gpus ${task.gpus ?? 'none'}`,
    );
    appendLog(sweepDir, {
      type: 'start',
      variant: job.name,
      mode: job.mode === 'resume' ? 'resume' : 'new',
      time: now(),
      task,
    });
    const exit = await this.train(job);
    const { reason, error } = exit;
    appendLog(sweepDir, { type: 'exit', variant: job.name, reason, ...(error ? { error } : {}), time: now() });
    this.o.log(`${job.name}: ${reason} at step ${this.step}${error ? `: ${error}` : ''}`);
    const state = readSweep(sweepDir);
    if (state) writeReport(state);
    if (reason === 'completed') return 0;
    if (reason === 'failed') return 1;
    if (this.timeLimitNear) await this.requeue(job, task);
    return EXIT_STOPPED;
  }

  /** The variant of this array index, and whether it is done, resumes or starts afresh. */
  private job(): Job {
    const { sweepDir, env } = this.o;
    const plan = readSweep(sweepDir)?.plan;
    if (!plan) throw new Error(`${sweepDir} holds no readable sweep.json`);
    const index = Number(env.SLURM_ARRAY_TASK_ID);
    const v = Number.isInteger(index) ? plan.variants[index] : undefined;
    if (!v) throw new Error(`no variant at array index ${env.SLURM_ARRAY_TASK_ID} of ${plan.variants.length}`);
    const dir = path.join(sweepDir, v.dir);
    const configFile = variantConfigFile(sweepDir, v.dir);
    return { index, name: v.name, dir, configFile, mode: jobMode(dir, plan.steps) };
  }

  private taskInfo(): TaskInfo {
    const { env } = this.o;
    const job = env.SLURM_ARRAY_JOB_ID
      ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}`
      : (env.SLURM_JOB_ID ?? '?');
    return {
      job,
      ...(env.SLURMD_NODENAME ? { node: env.SLURMD_NODENAME } : {}),
      ...(env.CUDA_VISIBLE_DEVICES !== undefined ? { gpus: env.CUDA_VISIBLE_DEVICES } : {}),
      restart: Number(env.SLURM_RESTART_COUNT ?? 0) || 0,
    };
  }

  private train(job: Job): Promise<TrainerExit> {
    const plan = readSweep(this.o.sweepDir)!.plan;
    const { backend, builtinRoot, trainerPath } = this.o;
    const args = trainerArgs(job, { baseDir: path.dirname(plan.configFile), steps: plan.steps, backend, builtinRoot });
    this.trainer = new TrainerProcess(
      { trainerPath, args },
      (e) => this.event(e),
      (text) => this.o.log(text.trimEnd()),
    );
    return this.trainer.exited;
  }

  private event(e: TrainerEvent): void {
    if (e.type === 'started') {
      this.startStep = this.step = e.payload.startStep;
      this.o.log(`started on ${e.payload.backend}, steps ${e.payload.startStep}..${e.payload.totalSteps}`);
    } else if (e.type === 'step') {
      this.step = e.payload.step;
      this.stopIfAdvanced();
      if (Date.now() - this.lastPrint < 30_000) return;
      this.lastPrint = Date.now();
      this.o.log(`step ${e.payload.step} (${e.payload.imgPerSec.toFixed(1)} img/s)`);
    } else if (e.type === 'checkpoint') this.o.log(`checkpoint at step ${e.payload.step}`);
    else if (e.type === 'error') this.o.log(`error: ${e.payload.message}`);
  }

  private stopIfAdvanced(): void {
    if (this.timeLimitNear && this.step > this.startStep) this.trainer?.stop();
  }

  /** `scontrol requeue` of this task after a checkpoint that advanced, while the cap allows. */
  private async requeue(job: Job, task: TaskInfo): Promise<void> {
    const { sweepDir, env, requeues } = this.o;
    const done = readSweepLog(sweepDir).filter(
      (e) => e.type === 'requeue' && e.variant === job.name && e.job === task.job,
    );
    if (this.step <= this.startStep) return this.o.log('no step since this task started: not requeued');
    if (done.length >= requeues) return this.o.log(`requeued ${done.length} times already (the cap): not requeued`);
    appendLog(sweepDir, { type: 'requeue', variant: job.name, job: task.job, step: this.step, time: now() });
    this.o.log(`requeue ${done.length + 1}/${requeues} at step ${this.step}`);
    await promisify(execFile)('scontrol', ['requeue', env.SLURM_JOB_ID ?? task.job]);
  }
}
