// Translation in the trainer process (`trainer.js --translate JSON`, for `p2p translate` and the panel): images of
// any size and format through each run's own input transform, then its generator at a checkpoint, in the run's
// evaluation mode (training mode: the batch's statistics and the evaluation stream's dropout, as its samples).
// PNGs go to the request's folder, never into a run folder; `translation.json` lists them.

import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { analyze } from '../core/analysis';
import type { ResolvedConfig } from '../core/config';
import { DataError, inputOfImage, listImages, type ImagePair } from '../data/dataset';
import { buildModel } from '../model/build';
import type { Tf } from '../model/tf';
import type { TrainerEvent, TranslateRequest, Translation } from '../protocol/trainer';
import { chooseBackend } from './backends';
import { loadModelWeights } from './checkpoint';
import { checkpointAt } from '../runFolders/checkpoints';
import { generate, targetsOf } from './pix2pix';
import { defaultBuiltinRoot } from './run';
import { atEvaluationStreams } from './evaluation';
import { runSetup } from './evaluateRun';
import { imagesOf, NEIGHBOUR_TARGETS } from './memorise';
import { nearestNeighbours } from '../core/memorisation';

type Output = Translation['images'][number]['outputs'][number];

/** The image files of the request: files as given, folders walked; an error names what is not an image. */
function imageFiles(images: string[]): string[] {
  return images.flatMap((p) => {
    if (!existsSync(p)) throw new DataError(`${p}: no such file or folder`);
    const files = statSync(p).isDirectory() ? listImages(p) : [p];
    if (!files.length) throw new DataError(`${p} holds no image files`);
    return files;
  });
}

/** A run's name in file names: its folder, after its sweep's when it is a variant. */
function runLabel(run: string): string {
  const parent = dirname(run);
  return existsSync(join(parent, 'sweep.json')) ? `${basename(parent)}_${basename(run)}` : basename(run);
}

/** 8-bit pixels of an image of `channels` channels as a PNG (one channel as gray). */
async function png(file: string, bytes: Uint8Array, size: number, channels: number): Promise<string> {
  const { default: sharp } = await import('sharp');
  const ch = channels >= 3 ? 3 : 1;
  const pixels = channels === ch ? bytes : bytes.filter((_, i) => i % channels < ch);
  await sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: ch } })
    .png()
    .toFile(file);
  return file;
}

/** One run's generator over every image; its output for each image, in the images' order. */
async function translateWithRun(tf: Tf, run: string, files: string[], req: TranslateRequest): Promise<Output[]> {
  const text = readFileSync(join(run, 'config.p2p.yaml'), 'utf8');
  const { config, generator } = analyze(text);
  if (!generator) throw new Error(`${run}: its config has errors`);
  const checkpoint = checkpointAt(run, req.step);
  const g = buildModel(tf, generator);
  loadModelWeights(tf, g, checkpoint.dir, 'generator');
  const pairs = await Promise.all(files.map((f) => inputOfImage(f, config)));
  const generated = await generateAt(tf, g, config, checkpoint.step, pairs);
  g.dispose();
  const label = runLabel(run);
  const { size, channels } = config.input;
  const per = size * size * config.output.channels;
  const nearest = req.neighbours ? await nearestTargets(run, config, generated, files.length, req.builtinRoot) : [];
  return Promise.all(
    files.map(async (file, i) => {
      const dir = join(req.out, imageStem(file, i));
      mkdirSync(dir, { recursive: true });
      const out = Uint8Array.from(generated.subarray(i * per, (i + 1) * per), (v) =>
        Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))),
      );
      const n = nearest[i];
      const neighbour = n && {
        index: n.index,
        name: n.pair.name,
        rms: n.rms,
        image: await png(join(dir, `${label}-nearest.png`), n.pair.target, size, config.output.channels),
      };
      return {
        run,
        label,
        step: checkpoint.step,
        mode: config.train.evalMode,
        input: await png(join(dir, `${label}-input.png`), pairs[i].input, size, channels),
        output: await png(join(dir, `${label}.png`), out, size, config.output.channels),
        ...(neighbour ? { neighbour } : {}),
      };
    }),
  );
}

/**
 * Each output's nearest training target among the run's first NEIGHBOUR_TARGETS (as its evaluations search): its
 * training set drawn again as it trained, by the split's seed (the first draws of train.seed's stream unless
 * data.splitSeed is set) and its half.
 */
async function nearestTargets(
  run: string,
  config: ResolvedConfig,
  generated: Float32Array,
  count: number,
  builtinRoot = defaultBuiltinRoot(),
) {
  const train = (await runSetup(run, builtinRoot)).data.train.slice(0, NEIGHBOUR_TARGETS);
  const shapes = { size: config.input.size, inChannels: config.input.channels, outChannels: config.output.channels };
  const targets = imagesOf(targetsOf(train, shapes), train.length);
  return nearestNeighbours(imagesOf(generated, count), targets).map((n) => ({
    index: n.index,
    rms: n.distance,
    pair: train[n.index],
  }));
}

/** The generator's outputs as its evaluation at `step` draws them (dropout and statistics alike). */
async function generateAt(
  tf: Tf,
  g: import('@tensorflow/tfjs').LayersModel,
  config: ResolvedConfig,
  step: number,
  images: { input: Uint8Array }[],
) {
  const shapes = { size: config.input.size, inChannels: config.input.channels, outChannels: config.output.channels };
  const pairs = images.map((p) => ({ input: p.input, target: new Uint8Array(0) }) as ImagePair);
  const generateAll = () => generate(tf, g, pairs, shapes, config.train.batchSize, config.train.evalMode);
  return atEvaluationStreams(g, config.train.seed, step, generateAll);
}

const imageStem = (file: string, i: number) =>
  `${String(i + 1).padStart(2, '0')}-${basename(file, extname(file)).replace(/[^\w.-]+/g, '_')}`;

/** Runs the request; the manifest goes to `emit` and into translation.json. */
export async function runTranslate(req: TranslateRequest, emit: (e: TrainerEvent) => void): Promise<number> {
  const files = imageFiles(req.images);
  const out = resolve(req.out);
  mkdirSync(out, { recursive: true });
  const backend = await chooseBackend(req.backend ?? 'auto');
  const perRun: Output[][] = [];
  for (const run of req.runs) perRun.push(await translateWithRun(backend.tf, resolve(run), files, { ...req, out }));
  const { default: sharp } = await import('sharp');
  const images = await Promise.all(
    files.map(async (file, i) => {
      const original = join(out, imageStem(file, i), 'original.png');
      await sharp(file).rotate().resize(256, 256, { fit: 'inside', withoutEnlargement: true }).png().toFile(original);
      return { name: basename(file), original, outputs: perRun.map((r) => r[i]) };
    }),
  );
  const translation: Translation = { out, images };
  writeFileSync(join(out, 'translation.json'), JSON.stringify(translation, null, 2) + '\n');
  emit({ type: 'translated', payload: translation });
  return 0;
}
