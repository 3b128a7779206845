// `p2p evaluate RUN [--all | --step N]` in the trainer process (`trainer.js --evaluate JSON`): a run's kept
// checkpoints (its newest by default) evaluated again with today's measures (evaluation.ts, the random streams
// the trainer used), on the run's own data (its split drawn again by its seed, its half). The rows go to
// `evaluations/<run>/evaluations.csv` beside the run folder, never inside it (the trainer is its one writer):
// the same columns as metrics.csv, so a checkpoint's row equals the run's own at that step.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { analyze } from '../core/analysis';
import { SeededRandom } from '../core/random';
import { loadDataset } from '../data/dataset';
import { checkpointAt, keptCheckpoints } from '../runFolders/checkpoints';
import type { EvalPayload, EvaluateRequest, TrainerEvent } from '../protocol/trainer';
import { writeAtomic } from '../runFolders/atomicWrite';
import { METRICS_HEADER, metricsRow } from '../runFolders/runDir';
import { chooseBackend } from './backends';
import { loadModelWeights } from './checkpoint';
import { evaluateAt, type Evaluator } from './evaluation';
import { createNets, disposeNets } from '../model/nets';
import { defaultBuiltinRoot } from './run';

const EVALUATIONS_FILE = 'evaluations.csv';

/** `evaluations/<run>/` in the folder that holds the run. */
const evaluationsDir = (run: string) => join(dirname(run), 'evaluations', basename(run));

/** The run's config, graphs and data as it trained on them. */
export async function runSetup(run: string, builtinRoot: string) {
  const text = readFileSync(join(run, 'config.p2p.yaml'), 'utf8');
  const { config, generator, discriminator } = analyze(text);
  if (!generator || !discriminator) throw new Error(`${run}: its config has errors`);
  const resolvedFile = join(run, 'resolved.json');
  const baseDir = existsSync(resolvedFile) ? (JSON.parse(readFileSync(resolvedFile, 'utf8')).baseDir as string) : run;
  const rng = new SeededRandom(config.train.data.splitSeed ?? config.train.seed);
  const data = await loadDataset(config, { baseDir, builtinRoot, rng });
  return { config, graphs: { generator, discriminator, config }, data };
}

/** Evaluates the request's checkpoints; the rows as an `evaluated` event and in evaluations.csv. */
export async function runEvaluate(req: EvaluateRequest, emit: (e: TrainerEvent) => void): Promise<number> {
  const run = resolve(req.run);
  const checkpoints = req.all ? keptCheckpoints(run) : [checkpointAt(run, req.step)];
  if (!checkpoints.length) throw new Error(`${run} has no checkpoint`);
  const { config, graphs, data } = await runSetup(run, req.builtinRoot ?? defaultBuiltinRoot());
  const { tf } = await chooseBackend(req.backend ?? 'auto');
  Math.random = new SeededRandom(config.train.seed).next;
  const nets = createNets(tf, graphs);
  const batchSize = Math.min(config.train.batchSize, data.train.length);
  const shapes = { size: config.input.size, inChannels: config.input.channels, outChannels: config.output.channels };
  const stepsPerEpoch = Math.ceil(data.train.length / batchSize);
  const evaluator: Evaluator = { tf, nets, data, config, shapes, batchSize, stepsPerEpoch };
  const evals: EvalPayload[] = [];
  try {
    for (const c of checkpoints) {
      loadModelWeights(tf, nets.generator, c.dir, 'generator');
      loadModelWeights(tf, nets.discriminator, c.dir, 'discriminator');
      evals.push((await evaluateAt(evaluator, c.step)).payload);
    }
  } finally {
    disposeNets(tf, nets);
  }
  const dir = evaluationsDir(run);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, EVALUATIONS_FILE);
  writeAtomic(file, [METRICS_HEADER, ...evals.map(metricsRow)].join('\n') + '\n');
  emit({ type: 'evaluated', payload: { run, file, evals } });
  return 0;
}
