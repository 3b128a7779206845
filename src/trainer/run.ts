// One training run, from its config (or the run folder it resumes) to its last checkpoint: setup, the step loop and
// the evaluations that write metrics and sample figures. Events go to `emit` and into the run's events.jsonl.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { analyze } from '../core/analysis';
import type { Backend, ResolvedConfig } from '../core/config';
import { configNameOf, type ModelPlan } from '../core/modelPlan';
import { describeErrors } from '../core/diagnostics';
import { kerasSummary } from '../core/kerasSummary';
import { SeededRandom } from '../core/random';
import { discriminatorSees, generatorBatch, type StepImages } from '../core/trainingLoop';
import { DataError, loadDataset, type Dataset } from '../data/dataset';
import type { Tf } from '../model/tf';
import { EXIT_STOPPED, type ErrorPayload, type NeighbourRecord, type TrainerEvent } from '../protocol/trainer';
import type { ConfigChange } from '../protocol/runs';
import { RunDir } from '../runFolders/runDir';
import { repairRun } from '../runFolders/runRepair';
import { encodeTestOutputs, TEST_OUTPUTS_FILE } from '../runFolders/testOutputs';
import { chooseBackend, type ChosenBackend } from './backends';
import { saveCheckpoint, type LoopState } from './checkpoint';
import { configChangesAtResume, describeChanges, loadNewestIntact, textHash } from './resume';
import { batchFloats, type Shapes } from './pix2pix';
import { createNets, disposeNets, type Nets } from '../model/nets';
import { createStepper, type Stepper } from './steppers';
import { asBytes, fromSpread, gridPng, samplePng, unitTiles } from './samples';
import { DIVERSITY_INPUTS, measureColumns } from './memorise';
import { evaluateAt, SAMPLE_COLUMNS, type Evaluator } from './evaluation';
import { checkStepFits, dataBudget } from './fits';

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

/** Why the run should stop now ("SIGTERM", "the host went away"), or undefined while it should go on. */
export type StopRequest = () => string | undefined;

/** Where builtin synthetic sets are cached: P2P_DATA_DIR, else ~/.cache/p2p-ablation-lab. */
export function defaultBuiltinRoot(): string {
  return process.env.P2P_DATA_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'p2p-ablation-lab');
}

const DATA_STREAM = 0x5bd1e995;

/** The config a run trains: from its file, or the copy a resumed run keeps. */
interface RunSource extends ModelPlan {
  configFile: string;
  text: string;
  name: string;
  baseDir: string;
  resumeDir?: string;
  /** Keys of a resumed run's config changed since it started (safe ones: refused otherwise). */
  changes: ConfigChange[];
}

/** Everything a running session holds. */
interface Session {
  tf: Tf;
  backend: ChosenBackend;
  source: RunSource;
  data: Dataset;
  nets: Nets;
  /** What runs a step: tfjs's ops, or the compiled WebGPU step. */
  stepper: Stepper;
  run: RunDir;
  state: LoopState;
  /** Weights and dropout (tfjs draws their seeds from Math.random). */
  rng: SeededRandom;
  /** Data order: its own stream, so variants of a sweep see the same batches whatever their weights draw. */
  dataRng: SeededRandom;
  shapes: Shapes;
  batchSize: number;
  stepsPerEpoch: number;
  /** When the last checkpoint was written (performance.now()), and the last evaluation's test L1. */
  savedAt: number;
  testL1: number | undefined;
  /** What evaluates the generator and the critic at a step (the same for `p2p evaluate` on a checkpoint). */
  evaluator: Evaluator;
  send(e: TrainerEvent): void;
}

/** Trains until the last step, a stop request or a failure: 0 when it completed, EXIT_STOPPED when it stopped, 1 when it failed. */
export async function runTrainer(
  args: TrainerArgs,
  emit: (e: TrainerEvent) => void,
  stop: StopRequest,
): Promise<number> {
  const source = readSource(args);
  const backend = await chooseBackend(args.backend ?? source.config.train.backend);
  const session = await openSession(args, source, backend, emit);
  try {
    return (await trainLoop(session, stop)) === 'completed' ? 0 : EXIT_STOPPED;
  } catch (e) {
    // The run folder keeps its last checkpoint, samples and events; the failure is its last line.
    const { send, state, run } = session;
    send({ type: 'error', payload: failure(e as Error, backend.watch?.problem, state.step, run) });
    send({ type: 'finished', payload: { step: state.step, reason: 'failed', runDir: run.dir } });
    return 1;
  } finally {
    session.stepper.dispose();
    disposeNets(session.tf, session.nets);
    session.run.lock.release();
  }
}

function readSource(args: TrainerArgs): RunSource {
  const resumeDir = args.resume ? resolve(args.resume) : undefined;
  const configFile = resumeDir ? join(resumeDir, 'config.p2p.yaml') : args.config && resolve(args.config);
  if (!configFile) throw new Error('trainer: --config FILE or --resume RUNDIR is required');
  if (!existsSync(configFile)) throw new Error(`trainer: cannot read ${configFile}: no such file`);
  const text = readFileSync(configFile, 'utf8');
  const { config, diagnostics, generator, discriminator } = analyze(text);
  if (diagnostics.some((d) => d.severity === 'error') || !generator || !discriminator) {
    throw new Error(describeErrors(configFile, diagnostics));
  }
  const resolvedFile = resumeDir && join(resumeDir, 'resolved.json');
  const baseDir =
    resolvedFile && existsSync(resolvedFile)
      ? (JSON.parse(readFileSync(resolvedFile, 'utf8')).baseDir as string)
      : resolve(args.baseDir ?? dirname(configFile));
  const name = config.name ?? configNameOf(configFile);
  const changes = resumeDir ? configChangesAtResume(resumeDir, text, config) : [];
  return { configFile, text, config, generator, discriminator, name, baseDir, resumeDir, changes };
}

async function openSession(
  args: TrainerArgs,
  source: RunSource,
  backend: ChosenBackend,
  emit: (e: TrainerEvent) => void,
): Promise<Session> {
  const { config } = source;
  const tf = backend.tf;
  // One seeded generator for weights, dropout and the split (tfjs seeds from Math.random).
  const rng = new SeededRandom(config.train.seed);
  Math.random = rng.next;
  const dataRng = new SeededRandom(config.train.seed ^ DATA_STREAM);
  // The split draws from the weights' stream unless it has a seed of its own (an ablation's replicates keep it).
  const { splitSeed } = config.train.data;
  const splitRng = splitSeed === undefined ? rng : new SeededRandom(splitSeed);
  const tight = checkStepFits(source, backend.name);
  const data = await loadData(config, source.baseDir, args.builtinRoot ?? defaultBuiltinRoot(), splitRng);
  const nets = createNets(tf, source);
  const batchSize = Math.min(config.train.batchSize, data.train.length);
  const stepsPerEpoch = Math.ceil(data.train.length / batchSize);
  const shapes = { size: config.input.size, inChannels: config.input.channels, outChannels: config.output.channels };
  const evaluator: Evaluator = { tf, nets, data, config, shapes, batchSize, stepsPerEpoch };
  const partial = { tf, backend, source, data, nets, rng, dataRng, shapes, batchSize, stepsPerEpoch, evaluator };
  const {
    run,
    state,
    notes: resumed,
  } = source.resumeDir
    ? await resumeRun(partial, source.resumeDir, args.steps)
    : newRun(partial, args, args.steps ?? config.train.epochs * stepsPerEpoch);
  const notes = [...resumed, ...(tight ? [tight] : [])];
  const send = (e: TrainerEvent) => {
    run.appendEvent(e);
    emit(e);
  };
  try {
    const stepper = await createStepper(backend, nets, source, batchSize, state.step);
    const session: Session = { ...partial, run, state, send, stepper, savedAt: performance.now(), testL1: undefined };
    for (const s of data.skipped) send({ type: 'warning', payload: { message: `skipped ${s.file}: ${s.reason}` } });
    send({ type: 'started', payload: startedPayload(session) });
    for (const message of notes) send({ type: 'warning', payload: { message } });
    return session;
  } catch (e) {
    run.lock.release();
    throw e;
  }
}

async function loadData(config: ResolvedConfig, baseDir: string, builtinRoot: string, rng: SeededRandom) {
  try {
    return await loadDataset(config, { baseDir, builtinRoot, rng, maxBytes: dataBudget() });
  } catch (e) {
    if (e instanceof DataError) throw new Error(`data: ${e.message}`);
    throw e;
  }
}

/** A session before its run folder is open. */
type Setup = Omit<Session, 'run' | 'state' | 'send' | 'stepper' | 'savedAt' | 'testL1'>;

/** Opens a run to resume (its lock taken): repairs what a fault broke, loads its newest intact checkpoint. */
async function resumeRun(s: Setup, dir: string, steps: number | undefined) {
  const run = RunDir.open(dir);
  try {
    const notes = [...(run.lock.tookOver ? [run.lock.tookOver] : []), ...repairRun(dir)];
    const { state, skipped } = await loadNewestIntact(s.tf, s.nets, dir);
    notes.push(...skipped);
    // A run killed after its last checkpoint (SIGKILL, a node lost) wrote metrics and events it will write again.
    run.dropAfter(state.step);
    s.rng.restore(state.rng);
    if (state.dataRng !== undefined) s.dataRng.restore(state.dataRng);
    if (steps !== undefined) state.totalSteps = steps;
    if (s.source.changes.length) {
      writeResolved(run, s.source);
      notes.push(describeChanges(s.source.changes, state.step));
    }
    return { run, state, notes };
  } catch (e) {
    run.lock.release();
    throw e;
  }
}

/** resolved.json: the config with every default, where its data paths start, and its text's hash. */
function writeResolved(run: RunDir, source: RunSource): void {
  const { configFile, baseDir, config, text } = source;
  const resolved = { configFile, baseDir, config, textSha256: textHash(text) };
  run.write('resolved.json', JSON.stringify(resolved, null, 2) + '\n');
}

function newRun(s: Setup, args: TrainerArgs, totalSteps: number): { run: RunDir; state: LoopState; notes: string[] } {
  const { text, name } = s.source;
  const run = args.runDir
    ? RunDir.createAt(resolve(args.runDir))
    : RunDir.create(resolve(args.out ?? 'runs'), name, new Date());
  run.write('config.p2p.yaml', text);
  writeResolved(run, s.source);
  run.write('summary-generator.txt', kerasSummary(s.source.generator));
  run.write('summary-discriminator.txt', kerasSummary(s.source.discriminator));
  const order = s.dataRng.shuffle(s.data.train.map((_, i) => i));
  return { run, state: { step: 0, totalSteps, order, position: 0, rng: 0 }, notes: [] };
}

function startedPayload(s: Session): Extract<TrainerEvent, { type: 'started' }>['payload'] {
  return {
    runDir: s.run.dir,
    name: s.source.name,
    backend: s.backend.name,
    backendLog: s.backend.log,
    trainStep: s.stepper.describe,
    adapter: s.backend.adapter,
    tensorflow: s.backend.tensorflow,
    totalSteps: s.state.totalSteps,
    stepsPerEpoch: s.stepsPerEpoch,
    batchSize: s.batchSize,
    trainImages: s.data.train.length,
    testImages: s.data.test.length,
    params: { generator: s.nets.generator.countParams(), discriminator: s.nets.discriminator.countParams() },
    startStep: s.state.step,
    evalMode: s.source.config.train.evalMode,
    time: new Date().toISOString(),
  };
}

async function trainLoop(s: Session, stop: StopRequest): Promise<'completed' | 'stopped'> {
  const { state, stepsPerEpoch } = s;
  const evalEvery = Math.max(1, Math.round(s.source.config.train.sampleEvery * stepsPerEpoch));
  if (state.step === 0) {
    await evaluateAndSample(s);
    await checkpoint(s); // a run killed in its first epoch resumes from here
  }
  const tensors = { baseline: undefined as number | undefined };
  let why: string | undefined;
  while (state.step < state.totalSteps) {
    why = stop();
    if (why) break;
    await oneStep(s, tensors);
    if (state.step % evalEvery === 0 || state.step === state.totalSteps) await evaluateAndSample(s);
    if (checkpointDue(s, stepsPerEpoch)) await checkpoint(s);
  }
  if (s.run.latestCheckpoint()?.step !== state.step) await checkpoint(s);
  const reason = why ? 'stopped' : 'completed';
  s.send({ type: 'finished', payload: { step: state.step, reason, runDir: s.run.dir, ...(why ? { why } : {}) } });
  return reason;
}

/** A checkpoint at each epoch end, every `train.checkpoint.steps`, and once `minutes` have passed since the last. */
function checkpointDue(s: Session, stepsPerEpoch: number): boolean {
  const { step, totalSteps } = s.state;
  if (step === totalSteps) return false; // the loop's end writes it
  const { minutes, steps } = s.source.config.train.checkpoint;
  if (step % stepsPerEpoch === 0 || (steps !== undefined && step % steps === 0)) return true;
  return performance.now() - s.savedAt >= minutes * 60_000;
}

/** The next batch of the epoch's order, and its index in the epoch; a new order when the epoch is used up. */
function nextBatch(s: Session): { indices: number[]; batchInEpoch: number } {
  const { state } = s;
  if (state.position >= state.order.length) {
    state.order = s.dataRng.shuffle(s.data.train.map((_, i) => i));
    state.position = 0;
  }
  const batchInEpoch = Math.floor(state.position / s.batchSize);
  const indices = state.order.slice(state.position, state.position + s.batchSize);
  state.position += s.batchSize;
  return { indices, batchInEpoch };
}

/** A step's images (core/trainingLoop.ts): the epoch's next batch and, in the seed's loop, the generator's own. */
function stepImages(s: Session): StepImages {
  const { state, shapes } = s;
  const { loop, seed } = s.source.config.train;
  const { indices, batchInEpoch } = nextBatch(s);
  const train = s.data.train;
  const floats = (which: number[], part: 'input' | 'target') =>
    batchFloats(
      which.map((i) => train[i][part]),
      shapes.size,
      part === 'input' ? shapes.inChannels : shapes.outChannels,
    );
  const [x, y] = [floats(indices, 'input'), floats(indices, 'target')];
  const sees = discriminatorSees(loop, batchInEpoch);
  if (loop === 'paper') return { x, y, batch: indices.length, gx: x, gy: y, gBatch: indices.length, sees };
  const drawn = generatorBatch(seed, state.step, train.length, s.batchSize);
  return {
    x,
    y,
    batch: indices.length,
    gx: floats(drawn, 'input'),
    gy: floats(drawn, 'target'),
    gBatch: drawn.length,
    sees,
  };
}

async function oneStep(s: Session, tensors: { baseline: number | undefined }): Promise<void> {
  const { tf, state } = s;
  const started = performance.now();
  const images = stepImages(s);
  const losses = await s.stepper.step(images, state.step);
  s.backend.watch?.check();
  state.step++;
  if (!Number.isFinite(losses.gTotal) || !Number.isFinite(losses.dLoss)) {
    throw new Error(
      `the loss became ${losses.gTotal} (generator) / ${losses.dLoss} (discriminator) at step ${state.step}; lower train.optimizer.lr`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const numTensors = tf.memory().numTensors;
  tensors.baseline ??= numTensors;
  if (numTensors > tensors.baseline + 50 && state.step % 50 === 0) {
    const message = `tensor count grew from ${tensors.baseline} to ${numTensors}: a leak`;
    s.send({ type: 'warning', payload: { message } });
  }
  const epoch = state.step / s.stepsPerEpoch;
  const imgPerSec = images.batch / seconds;
  s.send({ type: 'step', payload: { step: state.step, epoch, ...losses, imgPerSec, numTensors } });
}

async function checkpoint(s: Session): Promise<void> {
  const { state } = s;
  state.rng = s.rng.saved;
  state.dataRng = s.dataRng.saved;
  await s.stepper.sync(state.step, true);
  const { keep } = s.source.config.train.checkpoint;
  const fill = (dir: string) => saveCheckpoint(s.tf, s.nets, dir, state);
  const path = await s.run.checkpoint(state.step, fill, { keep, testL1: s.testL1 });
  s.savedAt = performance.now();
  s.send({ type: 'checkpoint', payload: { step: state.step, path } });
}

async function evaluateAndSample(s: Session): Promise<void> {
  const { state, shapes } = s;
  await s.stepper.sync(state.step, false);
  const { payload, evalTrain, evalTest, train, test, measured } = await evaluateAt(s.evaluator, state.step);
  // metrics.csv first: whoever hears of the evaluation finds it on disk.
  s.run.appendEval(payload);
  if (test) s.run.appendTestImages(state.step, test.imageL1, measured?.records);
  if (test && s.source.config.train.data.half && state.step === state.totalSteps) {
    const dims = { step: state.step, count: evalTest.length, size: shapes.size, channels: shapes.outChannels };
    s.run.write(TEST_OUTPUTS_FILE, encodeTestOutputs(test.generated, dims));
  }
  s.testL1 = test?.quality.l1;
  s.send({ type: 'eval', payload });
  await writeSample(s, 'train', evalTrain, train.generated);
  if (test) await writeSample(s, 'test', evalTest, test.generated);
  if (!measured) return;
  const columns = (pairs: Dataset['train']) => pairs.slice(0, SAMPLE_COLUMNS);
  const trainRecords = measureColumns(measured.ref, train.generated, columns(evalTrain), shapes);
  await writeNeighbours(s, 'train-neighbours', trainRecords);
  await writeNeighbours(s, 'test-neighbours', measured.records.slice(0, SAMPLE_COLUMNS));
  if (measured.diversity) await writeDiversity(s, evalTest.slice(0, DIVERSITY_INPUTS), measured.diversity);
}

/** The sample columns' nearest training targets, one row aligned with the split's sample figure. */
async function writeNeighbours(s: Session, split: 'train-neighbours' | 'test-neighbours', records: NeighbourRecord[]) {
  const { shapes, state } = s;
  const tiles = records.map((r) => ({
    values: s.data.train[r.index].target,
    channels: shapes.outChannels,
    toByte: asBytes,
  }));
  const png = await gridPng([tiles], shapes.size);
  const path = s.run.write(join('samples', `${split}-${String(state.step).padStart(7, '0')}.png`), png);
  const mode = s.source.config.train.evalMode;
  s.send({ type: 'sample', payload: { step: state.step, split, path, mode, neighbours: records } });
}

/** The diversity figure: input, the first dropout draw and the per-pixel spread of the draws, a column per input. */
async function writeDiversity(
  s: Session,
  pairs: Dataset['test'],
  { first, spread }: { first: Float32Array; spread: Float32Array[] },
) {
  const { shapes, state } = s;
  const rows = [
    pairs.map((p) => ({ values: p.input, channels: shapes.inChannels, toByte: asBytes })),
    unitTiles(first, pairs.length, shapes.outChannels),
    spread.map((values) => ({ values, channels: shapes.outChannels, toByte: fromSpread })),
  ];
  const png = await gridPng(rows, shapes.size);
  const path = s.run.write(join('samples', `diversity-${String(state.step).padStart(7, '0')}.png`), png);
  s.send({ type: 'sample', payload: { step: state.step, split: 'diversity', path, mode: 'training' } });
}

/** The split's figure at this step: input, generated and target rows for the first images. */
async function writeSample(s: Session, split: 'train' | 'test', pairs: Dataset['train'], generated: Float32Array) {
  if (!pairs.length) return;
  const { shapes, state } = s;
  const per = shapes.size * shapes.size * shapes.outChannels;
  const columns = Math.min(SAMPLE_COLUMNS, pairs.length);
  const png = await samplePng(pairs.slice(0, columns), generated.subarray(0, columns * per), shapes);
  const path = s.run.write(join('samples', `${split}-${String(state.step).padStart(7, '0')}.png`), png);
  s.send({ type: 'sample', payload: { step: state.step, split, path, mode: s.source.config.train.evalMode } });
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
