// A sweep as a SLURM job array, the parts that need no scheduler: the settings of `ablation.slurm`, SLURM's time
// format, the `--array` spec, the batch script, why a submission cannot work, and what squeue's states mean for a
// variant.

/** `ablation.slurm`, with defaults filled in. */
export interface SlurmSettings {
  partition?: string;
  /** The generic resources of one task, `gpu:1` by default. */
  gres: string;
  /** The time limit of one task in SLURM's format (`4:00:00`, `1-12`); the partition's default when absent. */
  time?: string;
  /** Tasks of the array running at once (`--array=...%P`); no limit when absent. */
  parallel?: number;
  /** Seconds before the time limit at which a task is told (USR2) to checkpoint and requeue itself. */
  signal: number;
  /** How many times a task may requeue itself after the time-limit signal. */
  requeues: number;
  /** More `#SBATCH` lines (`--account=lab`, `--mem=16G`), written as given. */
  sbatch: string[];
}

export const SLURM_DEFAULTS: SlurmSettings = { gres: 'gpu:1', signal: 300, requeues: 10, sbatch: [] };

/**
 * Seconds of a SLURM time limit: `minutes`, `minutes:seconds`, `hours:minutes:seconds`, `days-hours`,
 * `days-hours:minutes`, `days-hours:minutes:seconds`; undefined when the text is none of these.
 */
export function slurmTimeSeconds(text: string): number | undefined {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const [days, a, b, c] = [m[1], m[2], m[3], m[4]].map((v) => (v === undefined ? undefined : Number(v)));
  if (days !== undefined) return days * 86400 + a! * 3600 + (b ?? 0) * 60 + (c ?? 0);
  if (c !== undefined) return a! * 3600 + b! * 60 + c;
  if (b !== undefined) return a! * 60 + b;
  return a! * 60;
}

/** `0-2,5,7-8%2`: the indices as ranges, at most `parallel` at once. */
export function arraySpec(indices: readonly number[], parallel?: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',') + (parallel ? `%${parallel}` : '');
}

export interface ScriptInput {
  sweepName: string;
  sweepDir: string;
  settings: SlurmSettings;
  /** The command that trains one variant, given the array index in `$SLURM_ARRAY_TASK_ID`. */
  command: string[];
  /** Variables the tasks need from the submitting host's settings (the tfjs-node folder), exported before it. */
  exports?: [name: string, value: string][];
}

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The batch script of the array: one task per variant. The task's own process is the batch shell's (`exec`), so
 * the signal before the time limit (`B:USR2`) reaches it; a preempted task is requeued by SLURM (`--requeue`).
 */
export function sbatchScript(s: ScriptInput): string {
  const { settings } = s;
  const name = s.sweepName.replace(/[^\w.-]+/g, '_');
  const lines = [
    '#!/bin/bash',
    `# The ablation ${s.sweepName}: task i trains variant i of sweep.json as an ordinary run folder in this sweep`,
    '# folder, resuming from its checkpoint when it has one. Written by `p2p ablate --executor slurm`.',
    `#SBATCH --job-name=p2p-${name}`,
    `#SBATCH --output=${s.sweepDir}/slurm/%A_%a.out`,
    '#SBATCH --open-mode=append',
    '#SBATCH --requeue',
    `#SBATCH --signal=B:USR2@${settings.signal}`,
    ...(settings.gres ? [`#SBATCH --gres=${settings.gres}`] : []),
    ...(settings.partition ? [`#SBATCH --partition=${settings.partition}`] : []),
    ...(settings.time ? [`#SBATCH --time=${settings.time}`] : []),
    ...settings.sbatch.map((l) => (l.startsWith('#SBATCH') ? l : `#SBATCH ${l}`)),
    '',
    '# An editor host may be Electron: let it run as plain Node.',
    'export ELECTRON_RUN_AS_NODE=1',
    ...(s.exports ?? []).map(([name, value]) => `export ${name}=${quote(value)}`),
    `exec ${s.command.map(quote).join(' ')}`,
    '',
  ];
  return lines.join('\n');
}

export interface SubmitFacts {
  /** Whether `sbatch` was found. */
  sbatch: boolean;
  settings: SlurmSettings;
  /** Nodes in the partition the array goes to. */
  nodes: number;
  /** The sweep folder's filesystem type (`nfs`, `lustre`, `ext2/ext3`, `tmpfs`). */
  filesystem: string;
  sweepDir: string;
}

/** Filesystems that compute nodes other than this one cannot see. */
const LOCAL_FILESYSTEMS = new Set(['ext2/ext3', 'ext4', 'xfs', 'btrfs', 'tmpfs', 'overlayfs', 'zfs', 'f2fs', 'ramfs']);

/** Why a submission cannot work, or undefined when it can. */
export function submitProblem(f: SubmitFacts): string | undefined {
  if (!f.sbatch)
    return 'no `sbatch` on PATH: run this on a SLURM login node (the CLI there, or the editor through Remote-SSH)';
  const limit = f.settings.time === undefined ? undefined : slurmTimeSeconds(f.settings.time);
  if (f.settings.time !== undefined && limit === undefined)
    return `\`ablation.slurm.time\` ${f.settings.time} is not a SLURM time limit (e.g. 4:00:00 or 1-12)`;
  if (limit !== undefined && f.settings.signal >= limit)
    return (
      `the checkpoint signal ${f.settings.signal} s before the time limit is not shorter than the limit itself ` +
      `(${limit} s): lower \`ablation.slurm.signal\` or raise \`time\``
    );
  if (f.nodes > 1 && LOCAL_FILESYSTEMS.has(f.filesystem))
    return (
      `${f.sweepDir} is on a local filesystem (${f.filesystem}) but the partition has ${f.nodes} nodes: ` +
      'put the runs folder on a filesystem every node shares (--out)'
    );
  return undefined;
}

/** A variant's state as the scheduler sees it. */
export type SchedulerStateName = 'pending' | 'running' | 'requeued' | 'completed' | 'failed' | 'cancelled';

export interface SchedulerState {
  state: SchedulerStateName;
  /** Why it waits (`Resources`, `Priority`, `BeginTime`), from squeue. */
  reason?: string;
  /** `12345_2`. */
  job: string;
}

const SQUEUE_STATES: Record<string, SchedulerStateName> = {
  PENDING: 'pending',
  CONFIGURING: 'running',
  RUNNING: 'running',
  COMPLETING: 'running',
  STAGE_OUT: 'running',
  SUSPENDED: 'pending',
  RESV_DEL_HOLD: 'pending',
  REQUEUED: 'requeued',
  REQUEUE_FED: 'requeued',
  REQUEUE_HOLD: 'requeued',
  PREEMPTED: 'requeued',
  RESIZING: 'running',
  COMPLETED: 'completed',
  CANCELLED: 'cancelled',
  FAILED: 'failed',
  TIMEOUT: 'failed',
  NODE_FAIL: 'failed',
  OUT_OF_MEMORY: 'failed',
  BOOT_FAIL: 'failed',
  DEADLINE: 'failed',
  REVOKED: 'cancelled',
  SPECIAL_EXIT: 'failed',
};

/**
 * One line of `squeue -h -r -t all -o '%F|%K|%T|%r'` as a task's state. A pending task that has run before (it
 * was preempted or requeued itself) is `requeued`. Undefined for a line that is not of this form.
 */
export function parseSqueueLine(
  line: string,
  ranBefore: (job: string) => boolean,
): { job: string; index: number; state: SchedulerState } | undefined {
  const [arrayJob, index, slurmState, reason] = line.trim().split('|');
  const i = Number(index);
  if (!arrayJob || !Number.isInteger(i) || !slurmState) return undefined;
  const job = `${arrayJob}_${i}`;
  let state = SQUEUE_STATES[slurmState.split(/[\s+]/)[0]] ?? 'pending';
  if (state === 'pending' && ranBefore(job)) state = 'requeued';
  const why = reason && reason !== 'None' && (state === 'pending' || state === 'requeued') ? reason : undefined;
  return { job: arrayJob, index: i, state: { state, job, ...(why ? { reason: why } : {}) } };
}

/** Whether a task in this state may still train. */
export const isActive = (s: SchedulerState | undefined): boolean =>
  !!s && (s.state === 'pending' || s.state === 'running' || s.state === 'requeued');
