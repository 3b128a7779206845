// The SLURM executor: a sweep's unfinished variants as one job array (`sbatch --array=<indices>%P`), task i
// training variant i of sweep.json in the shared sweep folder (src/sweep/arrayTask.ts). Its state is read from
// `squeue` and the sweep folder's files (no accounting database: no `sacct`); `scancel` cancels it.

import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  arraySpec,
  isActive,
  parseSqueueLine,
  sbatchScript,
  submitProblem,
  type SchedulerState,
  type SlurmSettings,
} from '../core/slurm';
import { diskFiles } from '../runFolders/diskFiles';
import { writeAtomic } from '../runFolders/atomicWrite';
import { appendLog, readSweepLog, type SweepPlan } from '../runFolders/sweepFolder';
import { TENSORFLOW_PATH_VARIABLE } from '../trainer/tensorflowPackage';
import {
  now,
  type ExecutorOptions,
  type Submission,
  type SweepEvent,
  type SweepExecutor,
  type SweepPass,
  type SweepStatus,
} from './executor';

const run = promisify(execFile);

const SUBMISSIONS_FILE = path.join('slurm', 'submission.json');
const SCRIPT_FILE = path.join('slurm', 'array.sbatch');

/** Every `sbatch` of a sweep folder, oldest first. */
export function readSubmissions(sweepDir: string): Submission[] {
  const text = diskFiles().readText(path.join(sweepDir, SUBMISSIONS_FILE));
  try {
    return text ? ((JSON.parse(text) as { submissions: Submission[] }).submissions ?? []) : [];
  } catch {
    return [];
  }
}

/** A SLURM command's stdout; its stderr's last line as the error when it fails. */
async function slurmCommand(command: string, args: string[], cwd?: string): Promise<string> {
  try {
    return (await run(command, args, { cwd, timeout: 30_000 })).stdout;
  } catch (e) {
    const err = e as { code?: string | number; stderr?: string; message: string };
    if (err.code === 'ENOENT') throw new Error(`no \`${command}\` on PATH`);
    const last = (err.stderr ?? '').trim().split('\n').pop();
    throw new Error(`${command} ${args.join(' ')}: ${last || err.message}`);
  }
}

/** Each variant's state: from squeue while SLURM remembers its task, else `cancelled` when the sweep log says so. */
export async function schedulerStatus(sweepDir: string, plan: SweepPlan): Promise<SweepStatus> {
  const states = new Map<string, SchedulerState>();
  const submissions = readSubmissions(sweepDir);
  if (!submissions.length) return { states };
  const log = readSweepLog(sweepDir);
  const started = new Set(log.flatMap((e) => (e.type === 'start' && e.task ? [e.task.job] : [])));
  const byJob = new Map(submissions.map((s) => [s.job, s]));
  let error: string | undefined;
  try {
    const jobs = submissions.map((s) => s.job).join(',');
    const out = await slurmCommand('squeue', ['-h', '-r', '-t', 'all', '-j', jobs, '-o', '%F|%K|%T|%r']).catch(
      (e: Error) => {
        if (/Invalid job id/i.test(e.message)) return ''; // every job of the sweep is gone from SLURM's memory
        throw e;
      },
    );
    for (const line of out.split('\n')) {
      const task = parseSqueueLine(line, (job) => started.has(job));
      const variant = task && byJob.get(task.job) && plan.variants[task.index]?.name;
      if (variant) states.set(variant, task.state); // later submissions come later in the job order
    }
  } catch (e) {
    error = (e as Error).message;
  }
  // Once SLURM forgets a task, a cancel after its variant's last submit or start still says what happened.
  const last = new Map<string, { cancelled: boolean; jobs: string }>();
  for (const e of log) {
    if (e.type === 'cancel') for (const v of e.variants) last.set(v, { cancelled: true, jobs: e.jobs.join(',') });
    else if (e.type === 'submit') for (const v of e.variants) last.set(v, { cancelled: false, jobs: e.job });
    else if (e.type === 'start') last.set(e.variant, { cancelled: false, jobs: '' });
  }
  for (const [variant, l] of last)
    if (l.cancelled && !states.has(variant)) states.set(variant, { state: 'cancelled', job: l.jobs });
  return error ? { states, error } : { states };
}

/** Cancels the sweep's tasks that are still queued or running; their run folders keep the last checkpoint. */
async function cancelSweep(sweepDir: string, plan: SweepPlan): Promise<string> {
  const { states, error } = await schedulerStatus(sweepDir, plan);
  if (error) throw new Error(error);
  const active = plan.variants
    .filter((v) => isActive(states.get(v.name)))
    .map((v) => [v.name, states.get(v.name)!] as const);
  if (!active.length) return 'no task of this sweep is queued or running';
  // The arrays themselves: scancel ends their queued and running tasks and leaves the finished ones.
  const jobs = [...new Set(active.map(([, s]) => s.job.split('_')[0]))];
  await slurmCommand('scancel', jobs);
  const variants = active.map(([v]) => v);
  appendLog(sweepDir, { type: 'cancel', jobs, variants, time: now() });
  return `cancelled ${jobs.join(', ')}: ${variants.join(', ')}`;
}

/** The partition's node count and the sweep folder's filesystem, for `submitProblem`. */
async function clusterFacts(settings: SlurmSettings, sweepDir: string): Promise<{ nodes: number; filesystem: string }> {
  const sinfo = await slurmCommand('sinfo', [
    '-h',
    '-o',
    '%P %D',
    ...(settings.partition ? ['-p', settings.partition] : []),
  ]);
  const rows = sinfo.trim().split('\n').filter(Boolean);
  const row = settings.partition ? rows[0] : (rows.find((r) => r.split(' ')[0].endsWith('*')) ?? rows[0]);
  if (!row) throw new Error(`sinfo lists no partition${settings.partition ? ` named ${settings.partition}` : ''}`);
  const filesystem = (await slurmCommand('stat', ['-f', '-c', '%T', sweepDir])).trim();
  return { nodes: Number(row.split(' ')[1]) || 1, filesystem };
}

export class SlurmExecutor implements SweepExecutor {
  readonly kind = 'slurm';

  constructor(
    private readonly options: ExecutorOptions,
    private readonly onEvent: (e: SweepEvent) => void,
  ) {}

  status(sweepDir: string, plan: SweepPlan): Promise<SweepStatus> {
    return schedulerStatus(sweepDir, plan);
  }

  cancel(sweepDir: string, plan: SweepPlan): Promise<string> {
    return cancelSweep(sweepDir, plan);
  }

  /** Nothing trains in this process: the array's tasks run on the cluster until they end or are cancelled. */
  stop(): void {}

  async shutdown(): Promise<void> {}

  readonly runningVariants: string[] = [];

  submissions(sweepDir: string): Submission[] {
    return readSubmissions(sweepDir);
  }

  /** Submits one array of the variants that are neither done nor still queued or running on the scheduler. */
  async submit(pass: SweepPass): Promise<void> {
    const { sweepDir, plan, outcome } = pass;
    const settings = pass.sweep.slurm;
    const sbatch = await slurmCommand('sbatch', ['--version']).then(
      () => true,
      () => false,
    );
    const facts = sbatch ? await clusterFacts(settings, sweepDir) : { nodes: 1, filesystem: '' };
    const problem = submitProblem({ sbatch, settings, sweepDir, ...facts });
    if (problem) throw new Error(`cannot submit to SLURM: ${problem}`);
    const { states, error } = await schedulerStatus(sweepDir, plan);
    if (error) throw new Error(error);
    const unfinished = pass.jobs.filter((j) => j.mode !== 'done');
    outcome.active = unfinished.filter((j) => isActive(states.get(j.name))).map((j) => j.name);
    const todo = unfinished.filter((j) => !isActive(states.get(j.name)));
    outcome.pending = unfinished.map((j) => j.name);
    if (!todo.length) return;
    const submission = await this.sbatch(
      pass,
      todo.map((j) => j.index),
    );
    outcome.submitted = submission;
    this.onEvent({ type: 'submitted', submission });
  }

  private async sbatch(pass: SweepPass, indices: number[]): Promise<Submission> {
    const { sweepDir, plan, trainer } = pass;
    const settings = pass.sweep.slurm;
    const { trainerPath } = this.options;
    mkdirSync(path.join(sweepDir, 'slurm'), { recursive: true });
    const cli = path.join(path.dirname(trainerPath), 'cli.js');
    const command = [process.execPath, cli, 'sweep-task', sweepDir, '--requeues', String(settings.requeues)];
    if (trainer.backend) command.push('--backend', trainer.backend);
    if (trainer.builtinRoot) command.push('--builtin-root', trainer.builtinRoot);
    const scriptFile = path.join(sweepDir, SCRIPT_FILE);
    const folder = this.options.env?.[TENSORFLOW_PATH_VARIABLE];
    const exports: [string, string][] = folder ? [[TENSORFLOW_PATH_VARIABLE, folder]] : [];
    writeAtomic(scriptFile, sbatchScript({ sweepName: plan.name, sweepDir, settings, command, exports }));
    const array = arraySpec(indices, settings.parallel);
    const out = await slurmCommand('sbatch', ['--parsable', `--array=${array}`, scriptFile], sweepDir);
    const job = out.trim().split(';')[0];
    const variants = indices.map((i) => plan.variants[i].name);
    const submission: Submission = { job, indices, variants, array, script: scriptFile, time: now() };
    const submissions = [...readSubmissions(sweepDir), submission];
    writeAtomic(path.join(sweepDir, SUBMISSIONS_FILE), JSON.stringify({ submissions }, null, 2) + '\n');
    appendLog(sweepDir, { type: 'submit', job, variants, array, time: submission.time });
    return submission;
  }
}
