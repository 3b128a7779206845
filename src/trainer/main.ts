// The training process (dist/trainer.js), started with child_process.fork by the extension and by `p2p train`.
//   node dist/trainer.js --config FILE [--out DIR] [--backend B] [--steps N] [--builtin-root DIR]
//   node dist/trainer.js --resume RUNDIR [--steps N] [--backend B]
// Events go over IPC (when forked) and into RUNDIR/events.jsonl. A `stop` message, SIGTERM or SIGINT writes a
// checkpoint and ends the run cleanly.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { analyze } from '../core/analysis';
import type { Backend } from '../core/config';
import { kerasSummary } from '../core/kerasSummary';
import { DataError, loadDataset, type Dataset } from '../data/dataset';
import { buildModel } from '../model/build';
import { chooseBackend, type Tf } from './backends';
import { loadCheckpoint, saveCheckpoint, type LoopState } from './checkpoint';
import type { ErrorPayload, TrainerCommand, TrainerEvent } from './contract';
import type { Quality } from './metrics';
import { batchTensor, evaluate, trainStep, type Nets, type Shapes } from './pix2pix';
import { SeededRandom, withRandom } from './random';
import { RunDir } from './runDir';
import { samplePng } from './samples';

export interface TrainerArgs {
  config?: string;
  resume?: string;
  out?: string;
  backend?: Backend;
  steps?: number;
  builtinRoot?: string;
  /** The exact run folder to create (a sweep's variant), instead of a new dated folder under `out`. */
  runDir?: string;
  /** Where relative data paths start (default: the config file's folder). */
  baseDir?: string;
}

export function parseTrainerArgs(argv: readonly string[]): TrainerArgs {
  const args: TrainerArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--config':
        args.config = value;
        break;
      case '--resume':
        args.resume = value;
        break;
      case '--out':
        args.out = value;
        break;
      case '--backend':
        args.backend = value as Backend;
        break;
      case '--steps':
        args.steps = Number(value);
        break;
      case '--builtin-root':
        args.builtinRoot = value;
        break;
      case '--run-dir':
        args.runDir = value;
        break;
      case '--base-dir':
        args.baseDir = value;
        break;
      default:
        throw new Error(`unknown trainer argument ${argv[i]}`);
    }
    i++;
  }
  return args;
}

/** Where builtin synthetic sets are cached: P2P_DATA_DIR, else ~/.cache/p2p-ablation-lab. */
export function defaultBuiltinRoot(): string {
  return process.env.P2P_DATA_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'p2p-ablation-lab');
}

const EVAL_TRAIN_IMAGES = 16;
const EVAL_TEST_IMAGES = 100;
const SAMPLE_COLUMNS = 5;
const EVAL_STREAM = 0x2545f491;

export async function runTrainer(
  args: TrainerArgs,
  emit: (e: TrainerEvent) => void,
  stopRequested: () => boolean,
): Promise<number> {
  // Config: from the file, or the copy a resumed run keeps.
  const configFile = args.resume ? join(resolve(args.resume), 'config.p2p.yaml') : args.config && resolve(args.config);
  if (!configFile) throw new Error('trainer: --config FILE or --resume RUNDIR is required');
  if (!existsSync(configFile)) throw new Error(`trainer: cannot read ${configFile}: no such file`);
  const text = readFileSync(configFile, 'utf8');
  const analysis = analyze(text);
  const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || !analysis.generator || !analysis.discriminator) {
    throw new Error(
      `${configFile} has ${errors.length} error(s):\n${errors.map((d) => `  ${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`).join('\n')}`,
    );
  }
  const config = analysis.config;
  const resumeDir = args.resume ? resolve(args.resume) : undefined;
  const resolvedFile = resumeDir ? join(resumeDir, 'resolved.json') : undefined;
  const baseDir =
    resumeDir && resolvedFile && existsSync(resolvedFile)
      ? (JSON.parse(readFileSync(resolvedFile, 'utf8')).baseDir as string)
      : resolve(args.baseDir ?? dirname(configFile));
  const name = config.name ?? basename(configFile).replace(/\.p2p\.ya?ml$/, '');

  const backend = await chooseBackend(args.backend ?? config.train.backend);
  const tf = backend.tf;

  // One seeded generator for weights, dropout, data order and the split (tfjs seeds from Math.random).
  const rng = new SeededRandom(config.train.seed);
  Math.random = rng.next;
  // Data order has its own stream, so variants of a sweep see the same batches whatever their weights draw.
  const dataRng = new SeededRandom(config.train.seed ^ 0x5bd1e995);

  let data: Dataset;
  try {
    data = await loadDataset(config, { baseDir, builtinRoot: args.builtinRoot ?? defaultBuiltinRoot(), rng });
  } catch (e) {
    if (e instanceof DataError) throw new Error(`data: ${e.message}`);
    throw e;
  }

  const nets: Nets = {
    generator: buildModel(tf, analysis.generator),
    discriminator: buildModel(tf, analysis.discriminator),
    gOptimizer: tf.train.adam(
      config.train.optimizer.lr,
      config.train.optimizer.beta1,
      config.train.optimizer.beta2,
      1e-8,
    ),
    dOptimizer: tf.train.adam(
      config.train.optimizer.lr,
      config.train.optimizer.beta1,
      config.train.optimizer.beta2,
      1e-8,
    ),
  };
  const batchSize = Math.min(config.train.batchSize, data.train.length);
  const stepsPerEpoch = Math.ceil(data.train.length / batchSize);

  let run: RunDir;
  let state: LoopState;
  if (resumeDir) {
    run = new RunDir(resumeDir);
    const latest = run.latestCheckpoint();
    if (!latest) throw new Error(`trainer: ${resumeDir} has no checkpoint to resume from`);
    state = await loadCheckpoint(tf, nets, latest.dir);
    rng.restore(state.rng);
    if (state.dataRng !== undefined) dataRng.restore(state.dataRng);
    if (args.steps !== undefined) state.totalSteps = args.steps;
  } else {
    run = args.runDir
      ? RunDir.createAt(resolve(args.runDir))
      : RunDir.create(resolve(args.out ?? 'runs'), name, new Date());
    run.write('config.p2p.yaml', text);
    run.write('resolved.json', JSON.stringify({ configFile, baseDir, config }, null, 2) + '\n');
    run.write('summary-generator.txt', kerasSummary(analysis.generator));
    run.write('summary-discriminator.txt', kerasSummary(analysis.discriminator));
    state = {
      step: 0,
      totalSteps: args.steps ?? config.train.epochs * stepsPerEpoch,
      order: dataRng.shuffle(data.train.map((_, i) => i)),
      position: 0,
      rng: 0,
    };
  }
  const send = (e: TrainerEvent) => {
    run.appendEvent(e);
    emit(e);
  };
  for (const s of data.skipped) send({ type: 'warning', payload: { message: `skipped ${s.file}: ${s.reason}` } });

  const shapes: Shapes = {
    size: config.input.size,
    inChannels: config.input.channels,
    outChannels: config.output.channels,
  };
  const evalEvery = Math.max(1, Math.round(config.train.sampleEvery * stepsPerEpoch));
  const evalTrain = data.train.slice(0, EVAL_TRAIN_IMAGES);
  const evalTest = data.test.slice(0, EVAL_TEST_IMAGES);
  const mode = config.train.evalMode;

  send({
    type: 'started',
    payload: {
      runDir: run.dir,
      name,
      backend: backend.name,
      backendLog: backend.log,
      adapter: backend.adapter,
      totalSteps: state.totalSteps,
      stepsPerEpoch,
      batchSize,
      trainImages: data.train.length,
      testImages: data.test.length,
      params: { generator: nets.generator.countParams(), discriminator: nets.discriminator.countParams() },
      startStep: state.step,
      evalMode: mode,
      time: new Date().toISOString(),
    },
  });

  const checkpoint = async () => {
    state.rng = rng.saved;
    state.dataRng = dataRng.saved;
    const path = await run.checkpoint(state.step, (dir) => saveCheckpoint(tf, nets, dir, state));
    send({ type: 'checkpoint', payload: { step: state.step, path } });
  };

  const evaluateAndSample = async () => {
    const epoch = state.step / stepsPerEpoch;
    // Evaluation's dropout draws from a stream of its own, seeded by the step: training's stream does not depend
    // on when evaluations happen, so a run stopped and resumed (on any backend) trains as an uninterrupted one.
    const { train, test } = await withRandom(
      new SeededRandom(config.train.seed ^ EVAL_STREAM ^ state.step).next,
      async () => ({
        train: await evaluate(tf, nets.generator, evalTrain, shapes, batchSize, mode),
        test: evalTest.length ? await evaluate(tf, nets.generator, evalTest, shapes, batchSize, mode) : undefined,
      }),
    );
    const gap = test ? diff(test.quality, train.quality) : null;
    send({
      type: 'eval',
      payload: { step: state.step, epoch, train: train.quality, test: test?.quality ?? null, gap },
    });
    run.appendMetrics(
      [
        state.step,
        epoch.toFixed(3),
        ...qualityCells(train.quality),
        ...qualityCells(test?.quality),
        ...qualityCells(gap ?? undefined),
      ].join(','),
    );
    const per = shapes.size * shapes.size * shapes.outChannels;
    const stepName = String(state.step).padStart(7, '0');
    for (const [split, pairs, generated] of [
      ['train', evalTrain, train.generated],
      ['test', evalTest, test?.generated],
    ] as const) {
      if (!generated || !pairs.length) continue;
      const columns = Math.min(SAMPLE_COLUMNS, pairs.length);
      const png = await samplePng(pairs.slice(0, columns), generated.subarray(0, columns * per), shapes);
      const path = run.write(join('samples', `${split}-${stepName}.png`), png);
      send({ type: 'sample', payload: { step: state.step, split, path, mode } });
    }
  };

  try {
    await trainLoop();
  } catch (e) {
    // The run folder keeps its last checkpoint, samples and events; the failure is its last line.
    send({ type: 'error', payload: failure(e as Error, backend.watch?.problem, state.step, run) });
    send({ type: 'finished', payload: { step: state.step, reason: 'failed', runDir: run.dir } });
    disposeNets(tf, nets);
    return 1;
  }
  disposeNets(tf, nets);
  return 0;

  async function trainLoop(): Promise<void> {
    if (state.step === 0) await evaluateAndSample();
    let baselineTensors: number | undefined;
    let reason: 'completed' | 'stopped' = 'completed';
    while (state.step < state.totalSteps) {
      if (stopRequested()) {
        reason = 'stopped';
        break;
      }
      if (state.position >= state.order.length) {
        state.order = dataRng.shuffle(data.train.map((_, i) => i));
        state.position = 0;
      }
      const indices = state.order.slice(state.position, state.position + batchSize);
      state.position += batchSize;
      const started = performance.now();
      const x = batchTensor(
        tf,
        indices.map((i) => data.train[i].input),
        shapes.size,
        shapes.inChannels,
      );
      const y = batchTensor(
        tf,
        indices.map((i) => data.train[i].target),
        shapes.size,
        shapes.outChannels,
      );
      const losses = await trainStep(tf, nets, config.train.loss, x, y);
      tf.dispose([x, y]);
      backend.watch?.check();
      state.step++;
      if (!Number.isFinite(losses.gTotal) || !Number.isFinite(losses.dLoss)) {
        throw new Error(
          `the loss became ${losses.gTotal} (generator) / ${losses.dLoss} (discriminator) at step ${state.step}; lower train.optimizer.lr`,
        );
      }
      const seconds = (performance.now() - started) / 1000;
      const numTensors = tf.memory().numTensors;
      baselineTensors ??= numTensors;
      if (numTensors > baselineTensors + 50 && state.step % 50 === 0) {
        send({
          type: 'warning',
          payload: { message: `tensor count grew from ${baselineTensors} to ${numTensors}: a leak` },
        });
      }
      send({
        type: 'step',
        payload: {
          step: state.step,
          epoch: state.step / stepsPerEpoch,
          ...losses,
          imgPerSec: indices.length / seconds,
          numTensors,
        },
      });
      if (state.step % evalEvery === 0 || state.step === state.totalSteps) await evaluateAndSample();
      if (state.step % stepsPerEpoch === 0 && state.step !== state.totalSteps) await checkpoint();
    }
    await checkpoint();
    send({ type: 'finished', payload: { step: state.step, reason, runDir: run.dir } });
  }
}

/** The error event of a failed run; a failed GPU device says how to go on from the last checkpoint elsewhere. */
function failure(error: Error, deviceProblem: string | undefined, step: number, run: RunDir): ErrorPayload {
  if (!deviceProblem) return { message: error.message, stack: error.stack };
  const latest = run.latestCheckpoint();
  const resume = latest
    ? `the last checkpoint (step ${latest.step}) is kept: resume on another backend with \`p2p train --resume ${run.dir} --backend wasm\``
    : 'no checkpoint was written before it';
  return { message: `${deviceProblem} at step ${step}; ${resume}`, device: true };
}

function disposeNets(tf: Tf, nets: Nets): void {
  nets.generator.dispose();
  nets.discriminator.dispose();
  nets.gOptimizer.dispose();
  nets.dOptimizer.dispose();
  tf.disposeVariables();
}

function diff(a: Quality, b: Quality): Quality {
  return { l1: a.l1 - b.l1, psnr: a.psnr - b.psnr, ssim: a.ssim - b.ssim };
}

function qualityCells(q: Quality | undefined): string[] {
  return q ? [q.l1.toFixed(5), q.psnr.toFixed(3), q.ssim.toFixed(4)] : ['', '', ''];
}

if (require.main === module) {
  let stop = false;
  const requestStop = () => {
    stop = true;
  };
  process.on('SIGTERM', requestStop);
  process.on('SIGINT', requestStop);
  process.on('message', (m: TrainerCommand) => {
    if (m?.type === 'stop') requestStop();
  });
  // The host went away (an editor closed, a sweep runner killed): checkpoint and stop rather than train unwatched.
  process.on('disconnect', requestStop);
  // Forked: events over IPC. Alone: one JSON line each on stdout.
  const forked = !!process.send;
  const emit = (e: TrainerEvent) => {
    if (!forked) process.stdout.write(JSON.stringify(e) + '\n');
    else if (process.connected) process.send!(e);
  };
  let args: TrainerArgs;
  try {
    args = parseTrainerArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  runTrainer(args, emit, () => stop)
    .then((code) => {
      process.exitCode = code;
      process.disconnect?.();
    })
    .catch((e: Error) => {
      emit({ type: 'error', payload: { message: e.message, stack: e.stack } });
      process.stderr.write(`trainer: ${e.message}\n`);
      process.exitCode = 1;
      process.disconnect?.();
    });
}
