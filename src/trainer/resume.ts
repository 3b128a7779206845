// What a resumed run trusts: its config, checked against the one it started with (keys that are safe to change
// mid-run are accepted and recorded, the rest refused by name), and its newest intact checkpoint (each verified
// against its manifest and loaded; a broken one is skipped, naming the file and why).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../core/config';
import type { Tf } from '../model/tf';
import { checkpointProblem, keptCheckpoints } from '../runFolders/checkpoints';
import type { ConfigChange } from '../protocol/runs';
import { configDiff } from '../runFolders/runState';
import { loadCheckpoint, type LoopState } from './checkpoint';
import type { Nets } from '../model/nets';

/** Config keys a run may change between a stop and its resume: how long it trains, how often it reports and saves. */
const SAFE_MID_RUN = [
  /^train\.epochs$/,
  /^train\.sampleEvery$/,
  /^train\.diversityDraws$/,
  /^train\.backend$/,
  /^train\.checkpoint(\.|$)/,
];

export const textHash = (text: string) => createHash('sha256').update(text).digest('hex');

const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
const changeText = (c: ConfigChange) => `${c.path} ${show(c.base)} → ${show(c.other)}`;

/**
 * The changes to a resumed run's config.p2p.yaml since it started (against resolved.json), or an error naming the
 * keys that cannot change mid-run. Unchanged text (its hash in resolved.json) needs no comparison.
 */
export function configChangesAtResume(runDir: string, text: string, config: ResolvedConfig): ConfigChange[] {
  const file = join(runDir, 'resolved.json');
  if (!existsSync(file)) return [];
  let recorded: { config?: unknown; textSha256?: string };
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); restore it, or start a new run`);
  }
  if (recorded.textSha256 === textHash(text) || recorded.config === undefined) return [];
  const changes = configDiff(recorded.config, config);
  const unsafe = changes.filter((c) => !SAFE_MID_RUN.some((p) => p.test(c.path)));
  if (unsafe.length) {
    throw new Error(
      `${join(runDir, 'config.p2p.yaml')} changed since the run started: ${unsafe.map(changeText).join('; ')}. ` +
        'These cannot change mid-run (the checkpoint was trained with the old values): undo the edit, or train ' +
        'the new config as a new run. Only train.epochs, train.sampleEvery, train.backend and train.checkpoint may ' +
        'change at a resume.',
    );
  }
  return changes;
}

/** The sentence recorded when a resumed run takes on changed keys. */
export function describeChanges(changes: readonly ConfigChange[], step: number): string {
  return `config.p2p.yaml changed since the run started: ${changes.map(changeText).join('; ')}; applied from step ${step} (resolved.json updated)`;
}

/**
 * Loads the newest checkpoint that is intact into `nets`: each is checked against its manifest, then loaded; one
 * that fails is skipped and said why. An error when none is usable, listing each one's reason.
 */
export async function loadNewestIntact(
  tf: Tf,
  nets: Nets,
  runDir: string,
): Promise<{ state: LoopState; skipped: string[] }> {
  const skipped: string[] = [];
  for (const c of keptCheckpoints(runDir).reverse()) {
    const problem = checkpointProblem(c.dir);
    if (problem) {
      skipped.push(`skipped the checkpoint at step ${c.step}: ${problem}`);
      continue;
    }
    try {
      return { state: await loadCheckpoint(tf, nets, c.dir), skipped };
    } catch (e) {
      skipped.push(`skipped the checkpoint at step ${c.step}: ${(e as Error).message}`);
    }
  }
  const why = skipped.length ? `: ${skipped.join('; ')}` : '';
  throw new Error(`trainer: ${runDir} has no checkpoint to resume from${why}`);
}
