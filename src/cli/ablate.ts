// `p2p ablate FILE [--backend B] [--steps N] [--parallel N] [--executor local|slurm] [--out DIR]`: trains every
// variant of the config's `ablation:` section as a resumable queue and writes the report, or submits them to SLURM
// as one job array. Ctrl+C checkpoints the running variants; the same command continues where it stopped.
// `--status` prints the table with each variant's scheduler state and the table over seeds; `--cancel` cancels a
// SLURM array.

import { dirname, join } from 'node:path';
import type { Backend } from '../core/config';
import { count, positiveInteger } from '../core/units';
import type { TrainerEvent } from '../protocol/trainer';
import { TABLE_HEADER, rowCells } from '../runFolders/sweepTable';
import type { SweepRow } from '../protocol/runs';
import { readSweep, type SweepState } from '../runFolders/sweepFolder';
import { summarizeReplicates, summaryTable } from '../runFolders/replicateStats';
import { HALVES_HEADER, HALVES_NOTE, halvesCells, halvesOf } from '../runFolders/disjointHalves';
import { safeName } from '../core/sweep';
import type { Submission } from '../sweep/executor';
import { loadSweep, SweepRunner, type SweepEvent, type SweepOutcome } from '../sweep/runner';
import { executorOfPlan } from '../sweep/executors';
import { STOP_SIGNALS } from './train';

const USAGE =
  'usage: p2p ablate FILE [--backend auto|tensorflow|webgpu|webgpu-tfjs|wasm|cpu] [--steps N] [--parallel N]\n' +
  '                       [--executor local|slurm] [--out DIR]\n' +
  '       p2p ablate FILE --status|--cancel [--out DIR]\n';
const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'webgpu-tfjs', 'wasm', 'cpu'];

/** A plain-text table with aligned columns; numbers (by default the runs table's columns 4-12) flush right. */
export function textTable(
  header: string[],
  rows: string[][],
  numeric: (column: number) => boolean = (i) => i >= 3 && i <= 11,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

/**
 * The table over seeds (or over one seed's test images) with the line that says what its intervals are, and the
 * disjoint halves' agreement where the sweep has them.
 */
function summaryText(state: SweepState, rows: SweepRow[] = state.rows): string {
  const summary = summarizeReplicates(rows, state.plan.seed);
  if (!summary) return '';
  const t = summaryTable(summary);
  const halves = halvesOf(state);
  const halvesText = halves.length
    ? `\nDisjoint halves:\n${textTable(HALVES_HEADER, halves.map(halvesCells), (i) => i >= 1)}${HALVES_NOTE}\n`
    : '';
  return `\n${t.title}:\n${textTable(t.header, t.rows, t.numeric)}${t.note.replace(/`/g, '')}\n${halvesText}`;
}

interface AblateArgs {
  file: string;
  out: string;
  backend?: Backend;
  steps?: number;
  parallel?: number;
  executor?: 'local' | 'slurm';
  /** Print the table with scheduler states, or cancel the array, instead of running. */
  action?: 'status' | 'cancel';
}

/** The command's arguments, or a usage error. */
function ablateArgs(argv: readonly string[]): AblateArgs | string {
  const args: Partial<AblateArgs> = { out: 'runs' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--status' || a === '--cancel') {
      args.action = a === '--status' ? 'status' : 'cancel';
      continue;
    }
    if (!a.startsWith('--')) {
      if (args.file) return `one FILE, found ${args.file} and ${a}`;
      args.file = a;
      continue;
    }
    const v = argv[++i];
    const int = positiveInteger(v ?? '') ?? NaN;
    if (v === undefined) return `${a} needs a value`;
    if (a === '--out') args.out = v;
    else if (a === '--backend' && BACKENDS.includes(v)) args.backend = v as Backend;
    else if (a === '--steps' && Number.isInteger(int) && int >= 1) args.steps = int;
    else if (a === '--parallel' && Number.isInteger(int) && int >= 1) args.parallel = int;
    else if (a === '--executor' && (v === 'local' || v === 'slurm')) args.executor = v;
    else return `unexpected ${a} ${v}`;
  }
  return args.file ? (args as AblateArgs) : 'expected FILE';
}

/** What `p2p ablate` prints as the queue works, on stderr; running variants' steps at most every 5 s. */
class AblationPrinter {
  private readonly progress = new Map<string, string>();
  private lastPrint = 0;

  event(e: SweepEvent): void {
    const out = (text: string) => process.stderr.write(text + '\n');
    if (e.type === 'planned') out(plannedText(e));
    else if (e.type === 'submitted') out(submittedText(e.submission));
    else if (e.type === 'capacity')
      out(`training ${e.parallel} variant${e.parallel === 1 ? '' : 's'} at a time (${e.why})`);
    else if (e.type === 'variant') this.variant(e.variant, e.event);
    else if (e.type === 'probed') out(`${e.variant}: skips probed${e.error ? ` (failed: ${e.error})` : ''}`);
    else if (e.type === 'exit') {
      this.progress.delete(e.variant);
      out(`${e.variant}: ${e.reason}${e.error ? `: ${e.error}` : ''}`);
    }
  }

  private variant(name: string, ev: TrainerEvent): void {
    const out = (text: string) => process.stderr.write(text + '\n');
    if (ev.type === 'started') {
      const p = ev.payload;
      out(`${name}: ${p.startStep ? 'resuming' : 'training'} on ${p.backend}, steps ${p.startStep}..${p.totalSteps}`);
    } else if (ev.type === 'step') {
      this.progress.set(name, `${name} ${count(ev.payload.step)} (${ev.payload.imgPerSec.toFixed(1)} img/s)`);
      if (Date.now() - this.lastPrint < 5000) return;
      this.lastPrint = Date.now();
      out(`  ${[...this.progress.values()].join(' · ')}`);
    } else if (ev.type === 'eval' && ev.payload.test) {
      const { step, train, test, gap } = ev.payload;
      out(
        `${name} @${step}: train L1 ${train.l1.toFixed(3)} · test L1 ${test.l1.toFixed(3)} · gap ${gap!.l1.toFixed(3)}`,
      );
    } else if (ev.type === 'warning') out(`${name}: warning: ${ev.payload.message}`);
  }
}

function plannedText(e: Extract<SweepEvent, { type: 'planned' }>): string {
  const mode = { done: 'done', resume: 'resumes from its checkpoint', new: 'to train' } as const;
  const todo = e.variants.filter((v) => v.mode !== 'done').length;
  const lines = e.variants.map((v) => `  ${v.name.padEnd(28)} ${mode[v.mode]}`);
  return [`ablation: ${e.runs} in ${e.sweepDir}`, ...lines, todo ? `${todo} to train` : 'nothing to train'].join('\n');
}

function submittedText(s: Submission): string {
  return [
    `submitted SLURM job ${s.job}: array ${s.array}, one task per variant (${s.variants.join(', ')})`,
    `  script: ${s.script}`,
    `  logs:   ${join(dirname(s.script), `${s.job}_<index>.out`)}`,
  ].join('\n');
}

/** The table on stdout and the exit status: 130 when variants are left, 1 when some failed, 0 once submitted. */
function reportOutcome(outcome: SweepOutcome, file: string): number {
  const state = readSweep(outcome.sweepDir);
  if (state) process.stdout.write('\n' + textTable(TABLE_HEADER, state.rows.map(rowCells)) + summaryText(state));
  process.stderr.write(`\nreport: ${outcome.report.filter((f) => /report\.(md|html)$/.test(f)).join(', ')}\n`);
  if (outcome.submitted || outcome.active?.length) {
    if (outcome.active?.length) process.stderr.write(`still queued or running: ${outcome.active.join(', ')}\n`);
    process.stderr.write(`watch with \`p2p ablate ${file} --status\`, cancel with \`--cancel\`\n`);
    return 0;
  }
  const left = outcome.stopped.length + outcome.pending.length;
  if (left) {
    process.stderr.write(`stopped with ${left} variant(s) left; run the same command to continue\n`);
    return 130;
  }
  if (outcome.failed.length) {
    process.stderr.write(`${outcome.failed.length} variant(s) failed: ${outcome.failed.join(', ')}\n`);
    return 1;
  }
  return 0;
}

export async function runAblate(argv: readonly string[], trainerPath = join(__dirname, 'trainer.js')): Promise<number> {
  const args = ablateArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`p2p ablate: ${args}\n${USAGE}`);
    return 2;
  }
  if (args.action) return sweepAction(args, args.action, trainerPath);
  const printer = new AblationPrinter();
  const runner = new SweepRunner({ ...args, trainerPath }, (e) => printer.event(e));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping, the running variants write a checkpoint...\n`);
    runner.stop();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    return reportOutcome(await runner.run(), args.file);
  } catch (e) {
    process.stderr.write(`p2p ablate: ${(e as Error).message}\n`);
    return 2;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}

/** `--status`: the table with each variant's scheduler state; `--cancel`: scancel of the sweep's array. */
async function sweepAction(args: AblateArgs, action: 'status' | 'cancel', trainerPath: string): Promise<number> {
  try {
    const { sweep } = loadSweep(args.file);
    const dir = join(args.out, safeName(sweep.name));
    const state = readSweep(dir);
    if (!state) throw new Error(`${dir} holds no sweep yet: run \`p2p ablate ${args.file}\` first`);
    const executor = executorOfPlan(state.plan, { trainerPath });
    if (action === 'cancel') {
      process.stderr.write(`${await executor.cancel(dir, state.plan)}\n`);
      return 0;
    }
    const { states, error } = await executor.status(dir, state.plan);
    if (error) process.stderr.write(`scheduler: ${error}\n`);
    const rows = state.rows.map((r) => ({ ...r, scheduler: states.get(r.variant) }));
    process.stdout.write(textTable(TABLE_HEADER, rows.map(rowCells)) + summaryText(state, rows));
    return error ? 1 : 0;
  } catch (e) {
    process.stderr.write(`p2p ablate: ${(e as Error).message}\n`);
    return 2;
  }
}
