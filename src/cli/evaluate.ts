// `p2p evaluate RUN [--all | --step N] [--backend B]`: a run's kept checkpoints (its newest by default) evaluated
// again with today's measures, in a trainer process; the rows go to `evaluations/<run>/evaluations.csv` beside the
// run, and a table on stdout marks the best step by test L1.

import { join } from 'node:path';
import type { Backend } from '../core/config';
import type { EvalPayload } from '../protocol/trainer';
import { evaluateInProcess } from '../host/trainerProcess';
import { textTable } from './ablate';

const USAGE = 'usage: p2p evaluate RUN [--all | --step N] [--backend B]\n';

const fixed = (v: number | undefined, digits: number) => (v === undefined ? '—' : v.toFixed(digits));

/** One row per checkpoint; the best test L1 marked. */
function evaluationsTable(evals: readonly EvalPayload[]): string {
  const best = evals.reduce<EvalPayload | undefined>(
    (b, e) => (e.test && (!b?.test || e.test.l1 < b.test.l1) ? e : b),
    undefined,
  );
  const header = ['Step', 'Train L1', 'Test L1', 'Gap', 'Copy rate', 'C_T', 'Critic r_t', 'Critic r_v', ''];
  const rows = evals.map((e) => [
    String(e.step),
    fixed(e.train.l1, 4),
    fixed(e.test?.l1, 4),
    fixed(e.gap?.l1, 4),
    fixed(e.memorisation?.copyRate, 3),
    fixed(e.memorisation?.ct, 2),
    fixed(e.critic?.rt, 2),
    fixed(e.critic?.rv, 2),
    e === best ? 'best test L1' : '',
  ]);
  return textTable(header, rows, (i) => i >= 1 && i <= 7);
}

export async function runEvaluateCli(argv: readonly string[], trainerPath = join(__dirname, 'trainer.js')) {
  const runs: string[] = [];
  let all = false;
  let step: number | undefined;
  let backend: Backend | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (a === '--all') all = true;
    else if (a === '--step' && /^\d+$/.test(v ?? '')) [step, i] = [Number(v), i + 1];
    else if (a === '--backend' && v) [backend, i] = [v as Backend, i + 1];
    else if (!a.startsWith('--')) runs.push(a);
    else return usage(`unexpected ${a}`);
  }
  if (runs.length !== 1) return usage('expected one RUN');
  if (all && step !== undefined) return usage('--all and --step exclude each other');
  try {
    const answer = await evaluateInProcess(trainerPath, { run: runs[0], all, step, backend });
    process.stdout.write(evaluationsTable(answer.evals));
    process.stderr.write(`evaluations: ${answer.file}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`p2p evaluate: ${(e as Error).message}\n`);
    return 1;
  }
}

function usage(why: string): number {
  process.stderr.write(`p2p evaluate: ${why}\n${USAGE}`);
  return 2;
}
