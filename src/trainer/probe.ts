// `p2p probe RUN [--step N]` in the trainer process (`trainer.js --probe JSON`): what each skip of a trained
// U-Net does, without retraining. For every decoder level with its skip on, the skip tensor dosed by alpha in
// {0, 0.25, 0.5, 0.75, 1}, scaled toward zero or toward its per-channel mean (model/build.ts's probe model, built
// from the same layer graph with dose layers), and train and test L1, PSNR and SSIM measured on the evaluation's
// images with its random streams: alpha = 1 is the run's own evaluation. `probe.json` and the alpha = 0 outputs
// go to `probes/<run>/` beside the run folder, never inside it.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ResolvedConfig } from '../core/config';
import type { ModelGraph } from '../core/graph';
import type { ImagePair } from '../data/dataset';
import { buildModel, type SkipDoseMode } from '../model/build';
import type { Tf } from '../model/tf';
import { checkpointAt } from '../runFolders/checkpoints';
import type { Probe, ProbeDose, ProbeRequest, Quality, TrainerEvent } from '../protocol/trainer';
import { PROBE_FILE, probesDir } from '../runFolders/probes';
import { writeAtomic } from '../runFolders/atomicWrite';
import { chooseBackend } from './backends';
import { loadModelWeights } from './checkpoint';
import { atEvaluationStreams, EVAL_TEST_IMAGES, EVAL_TRAIN_IMAGES, SAMPLE_COLUMNS } from './evaluation';
import { runSetup } from './evaluateRun';
import { quality } from './metrics';
import { generate, targetsOf } from './pix2pix';
import { gridPng, unitTiles } from './samples';
import { defaultBuiltinRoot } from './run';

const ALPHAS = [0, 0.25, 0.5, 0.75, 1];
const MODES: SkipDoseMode[] = ['scale', 'mean'];

interface Measuring {
  tf: Tf;
  config: ResolvedConfig;
  step: number;
  sets: { train: ImagePair[]; test: ImagePair[] };
  shapes: { size: number; inChannels: number; outChannels: number };
  batchSize: number;
}

/** Train and test quality of `g` (with `doses` for a probe model), as the evaluation at the step draws it. */
async function measure(m: Measuring, g: import('@tensorflow/tfjs').LayersModel, doses?: number[]) {
  const { tf, config, step, sets, shapes, batchSize } = m;
  const mode = config.train.evalMode;
  return atEvaluationStreams(g, config.train.seed, step, async () => {
    const of = async (pairs: ImagePair[]) => {
      const generated = await generate(tf, g, pairs, shapes, batchSize, mode, doses);
      const q: Quality = quality(generated, targetsOf(pairs, shapes), pairs.length, shapes.size, shapes.outChannels);
      return { quality: q, generated };
    };
    return { train: await of(sets.train), test: await of(sets.test) };
  });
}

/** One row of PNG tiles: the first test outputs. */
async function outputsPng(file: string, generated: Float32Array, m: Measuring): Promise<string> {
  const per = m.shapes.size ** 2 * m.shapes.outChannels;
  const count = Math.min(SAMPLE_COLUMNS, m.sets.test.length);
  const tiles = unitTiles(generated.subarray(0, count * per), count, m.shapes.outChannels);
  writeAtomic(file, await gridPng([tiles], m.shapes.size));
  return file;
}

/** The skips of the generator, in its decoder order (the probe model's dose columns). */
const skipsOf = (g: ModelGraph) =>
  g.layers
    .filter((l) => l.skip)
    .map((l) => ({ level: l.level!, encoderLevel: l.skip!.encoderLevel, channels: l.skip!.skipChannels }));

/** Every dose of every skip in both modes; the alpha = 0 figures. */
async function doseAll(m: Measuring, graph: ModelGraph, checkpointDir: string, out: string) {
  const skips = skipsOf(graph);
  const doses: ProbeDose[] = [];
  const alphaZero: Probe['figures']['alphaZero'] = [];
  for (const mode of MODES) {
    const model = buildModel(m.tf, graph, { skipDoses: mode });
    loadModelWeights(m.tf, model, checkpointDir, 'generator');
    for (const [k, skip] of skips.entries())
      for (const alpha of ALPHAS) {
        const column = skips.map((_, j) => (j === k ? alpha : 1));
        const { train, test } = await measure(m, model, column);
        doses.push({ level: skip.level, mode, alpha, train: train.quality, test: test.quality });
        if (alpha !== 0) continue;
        const image = await outputsPng(join(out, `level-${skip.level}-${mode}-alpha0.png`), test.generated, m);
        alphaZero.push({ level: skip.level, mode, image });
      }
    model.dispose();
  }
  return { skips, doses, alphaZero };
}

/** Probes the run at a kept checkpoint; probe.json as a `probed` event and in probes/<run>/. */
export async function runProbe(req: ProbeRequest, emit: (e: TrainerEvent) => void): Promise<number> {
  const run = resolve(req.run);
  const checkpoint = checkpointAt(run, req.step);
  const { config, graphs, data } = await runSetup(run, req.builtinRoot ?? defaultBuiltinRoot());
  const { tf } = await chooseBackend(req.backend ?? 'auto');
  const sets = { train: data.train.slice(0, EVAL_TRAIN_IMAGES), test: data.test.slice(0, EVAL_TEST_IMAGES) };
  if (!sets.test.length) throw new Error(`${run}: its config has no test images to probe on`);
  const shapes = { size: config.input.size, inChannels: config.input.channels, outChannels: config.output.channels };
  const batchSize = Math.min(config.train.batchSize, data.train.length);
  const m: Measuring = { tf, config, step: checkpoint.step, sets, shapes, batchSize };
  const out = probesDir(run);
  mkdirSync(out, { recursive: true });
  const plain = buildModel(tf, graphs.generator);
  loadModelWeights(tf, plain, checkpoint.dir, 'generator');
  const unmodified = await measure(m, plain);
  plain.dispose();
  const { skips, doses, alphaZero } = await doseAll(m, graphs.generator, checkpoint.dir, out);
  const probe: Probe = {
    run,
    step: checkpoint.step,
    evalMode: config.train.evalMode,
    images: { train: sets.train.length, test: sets.test.length },
    alphas: ALPHAS,
    skips,
    unmodified: { train: unmodified.train.quality, test: unmodified.test.quality },
    doses,
    figures: { unmodified: await outputsPng(join(out, 'unmodified.png'), unmodified.test.generated, m), alphaZero },
  };
  writeAtomic(join(out, PROBE_FILE), JSON.stringify(probe, null, 2) + '\n');
  emit({ type: 'probed', payload: probe });
  return 0;
}
