// `p2p ablate FILE [--backend B] [--steps N] [--parallel N] [--out DIR]`: trains every variant of the config's
// `ablation:` section as a resumable queue and writes the report. Ctrl+C checkpoints the running variants; the
// same command continues where it stopped.

import { join } from 'node:path';
import type { Backend } from '../core/config';
import { count } from '../core/units';
import { TABLE_HEADER, rowCells } from '../runs/sweepTable';
import { readSweep } from '../runs/sweepFolder';
import { SweepRunner } from '../sweep/runner';

const USAGE =
  'usage: p2p ablate FILE [--backend auto|tensorflow|webgpu|wasm|cpu] [--steps N] [--parallel N] [--out DIR]\n';
const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** A plain-text table with aligned columns. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 3 && i <= 11 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

export async function runAblate(argv: readonly string[], trainerPath = join(__dirname, 'trainer.js')): Promise<number> {
  let file: string | undefined;
  let out = 'runs';
  let backend: Backend | undefined;
  let steps: number | undefined;
  let parallel: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      if (file) {
        process.stderr.write(`p2p ablate: one FILE, found ${file} and ${a}\n${USAGE}`);
        return 2;
      }
      file = a;
      continue;
    }
    const v = argv[++i];
    const int = Number(v);
    if (v === undefined) {
      process.stderr.write(`p2p ablate: ${a} needs a value\n${USAGE}`);
      return 2;
    }
    if (a === '--out') out = v;
    else if (a === '--backend' && BACKENDS.includes(v)) backend = v as Backend;
    else if (a === '--steps' && Number.isInteger(int) && int >= 1) steps = int;
    else if (a === '--parallel' && Number.isInteger(int) && int >= 1) parallel = int;
    else {
      process.stderr.write(`p2p ablate: unexpected ${a} ${v}\n${USAGE}`);
      return 2;
    }
  }
  if (!file) {
    process.stderr.write(`p2p ablate: expected FILE\n${USAGE}`);
    return 2;
  }

  const progress = new Map<string, string>();
  let lastPrint = 0;
  const print = (force = false) => {
    if (!force && Date.now() - lastPrint < 5000) return;
    lastPrint = Date.now();
    if (progress.size) process.stderr.write(`  ${[...progress.values()].join(' · ')}\n`);
  };
  const runner = new SweepRunner({ file, out, trainerPath, backend, steps, parallel }, (e) => {
    switch (e.type) {
      case 'planned': {
        const todo = e.variants.filter((v) => v.mode !== 'done');
        process.stderr.write(
          `ablation: ${e.variants.length} variants in ${e.sweepDir}\n` +
            e.variants
              .map(
                (v) =>
                  `  ${v.name.padEnd(28)} ${v.mode === 'done' ? 'done' : v.mode === 'resume' ? 'resumes from its checkpoint' : 'to train'}`,
              )
              .join('\n') +
            `\n${todo.length ? `${todo.length} to train` : 'nothing to train'}\n`,
        );
        break;
      }
      case 'capacity':
        process.stderr.write(`training ${e.parallel} variant${e.parallel === 1 ? '' : 's'} at a time (${e.why})\n`);
        break;
      case 'variant': {
        const ev = e.event;
        if (ev.type === 'started')
          process.stderr.write(
            `${e.variant}: ${ev.payload.startStep ? 'resuming' : 'training'} on ${ev.payload.backend}, steps ${ev.payload.startStep}..${ev.payload.totalSteps}\n`,
          );
        if (ev.type === 'step') {
          progress.set(e.variant, `${e.variant} ${count(ev.payload.step)} (${ev.payload.imgPerSec.toFixed(1)} img/s)`);
          print();
        }
        if (ev.type === 'eval' && ev.payload.test)
          process.stderr.write(
            `${e.variant} @${ev.payload.step}: train L1 ${ev.payload.train.l1.toFixed(3)} · test L1 ${ev.payload.test.l1.toFixed(3)} · gap ${ev.payload.gap!.l1.toFixed(3)}\n`,
          );
        if (ev.type === 'warning') process.stderr.write(`${e.variant}: warning: ${ev.payload.message}\n`);
        break;
      }
      case 'exit':
        progress.delete(e.variant);
        process.stderr.write(`${e.variant}: ${e.reason}${e.error ? `: ${e.error}` : ''}\n`);
        break;
      default:
        break;
    }
  });

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\nstopping: the running variants write a checkpoint...\n');
    runner.stop();
  };
  process.on('SIGINT', onSigint);
  try {
    const outcome = await runner.run();
    const state = readSweep(outcome.sweepDir);
    if (state) process.stdout.write('\n' + textTable(TABLE_HEADER, state.rows.map(rowCells)));
    process.stderr.write(`\nreport: ${outcome.report.filter((f) => /report\.(md|html)$/.test(f)).join(', ')}\n`);
    if (outcome.stopped.length || outcome.pending.length) {
      process.stderr.write(
        `stopped with ${outcome.stopped.length + outcome.pending.length} variant(s) left; run the same command to continue\n`,
      );
      return 130;
    }
    if (outcome.failed.length) {
      process.stderr.write(`${outcome.failed.length} variant(s) failed: ${outcome.failed.join(', ')}\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    process.stderr.write(`p2p ablate: ${(e as Error).message}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
