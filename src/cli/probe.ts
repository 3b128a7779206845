// `p2p probe RUN [--step N] [--skips] [--backend B]`: what each skip of a trained generator does, without
// retraining (src/trainer/probe.ts, in a trainer process): per decoder level, test and train L1 with the skip
// dosed from 0 to 1, toward zero and toward its per-channel mean. probe.json and the alpha = 0 outputs go to
// `probes/<run>/` beside the run.

import { join } from 'node:path';
import type { Backend } from '../core/config';
import type { Probe } from '../protocol/trainer';
import { probeInProcess } from '../host/trainerProcess';
import { textTable } from './ablate';

const USAGE = 'usage: p2p probe RUN [--step N] [--skips] [--backend B]\n';

/** One row per skip and mode: L1 at each alpha, test then train at alpha 0, and the unmodified model's. */
function probeTable(p: Probe): string {
  const header = ['Level', 'Mode', ...p.alphas.map((a) => `test L1 @${a}`), 'train L1 @0'];
  const rows = p.skips.flatMap((s) =>
    (['scale', 'mean'] as const).map((mode) => {
      const at = (alpha: number) => p.doses.find((d) => d.level === s.level && d.mode === mode && d.alpha === alpha);
      return [String(s.level), mode, ...p.alphas.map((a) => at(a)!.test.l1.toFixed(4)), at(0)!.train.l1.toFixed(4)];
    }),
  );
  const plain = `unmodified at step ${p.step}: test L1 ${p.unmodified.test.l1.toFixed(4)}, train L1 ${p.unmodified.train.l1.toFixed(4)}`;
  return `${textTable(header, rows, (i) => i >= 2)}${plain}\n`;
}

export async function runProbeCli(argv: readonly string[], trainerPath = join(__dirname, 'trainer.js')) {
  const runs: string[] = [];
  let step: number | undefined;
  let backend: Backend | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (a === '--skips')
      continue; // the one probe there is
    else if (a === '--step' && /^\d+$/.test(v ?? '')) [step, i] = [Number(v), i + 1];
    else if (a === '--backend' && v) [backend, i] = [v as Backend, i + 1];
    else if (!a.startsWith('--')) runs.push(a);
    else return usage(`unexpected ${a}`);
  }
  if (runs.length !== 1) return usage('expected one RUN');
  try {
    const probe = await probeInProcess(trainerPath, { run: runs[0], step, backend });
    if (!probe.skips.length) process.stdout.write('the generator has no skips to probe\n');
    else process.stdout.write(probeTable(probe));
    process.stderr.write(`probe: ${join(probe.figures.unmodified, '..', 'probe.json')}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`p2p probe: ${(e as Error).message}\n`);
    return 1;
  }
}

function usage(why: string): number {
  process.stderr.write(`p2p probe: ${why}\n${USAGE}`);
  return 2;
}
