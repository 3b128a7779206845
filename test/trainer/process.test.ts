// The real trainer process (dist/trainer.js, built by `npm test`) forked as the extension and the CLI fork it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { registerLayers } from '../../src/model/build';
import { EXIT_STOPPED, type TrainerEvent } from '../../src/protocol/trainer';
import { analyze } from '../../src/core/analysis';
import { microConfig } from '../support/micro';
import { tempDir } from '../support/tempDir';
import { stepsOf, tensorboardEvents } from '../support/tensorboardEvents';
import { ofType, readEvents, startTrainer } from '../support/trainerRun';

const root = join(__dirname, '..', '..');
const trainerJs = join(root, 'dist', 'trainer.js');
const work = tempDir('p2p-trainer-');
const dataDir = join(work, 'data');
const config = join(work, 'micro.p2p.yaml');
writeFileSync(config, microConfig(0.2, 1));

const start = (args: string[]) => startTrainer(trainerJs, ['--builtin-root', dataDir, ...args]);

describe('trainer process', () => {
  it('runs 20 steps and leaves a complete run folder', async () => {
    const run = start(['--config', config, '--out', join(work, 'runs'), '--steps', '20']);
    assert.equal(await run.exit, 0);
    const started = ofType(run.events, 'started')[0].payload;
    assert.equal(started.backend, 'wasm');
    assert.equal(started.trainImages, 200);
    assert.equal(started.testImages, 100);
    assert.equal(started.stepsPerEpoch, 50);
    const steps = ofType(run.events, 'step').map((e) => e.payload);
    assert.deepEqual(
      steps.map((s) => s.step),
      [...Array(20).keys()].map((i) => i + 1),
    );
    assert.ok(steps.every((s) => Number.isFinite(s.gL1) && Number.isFinite(s.dLoss) && s.imgPerSec > 0));
    const evals = ofType(run.events, 'eval').map((e) => e.payload);
    assert.deepEqual(
      evals.map((e) => e.step),
      [0, 10, 20],
    );
    assert.ok(
      evals[2].test && evals[2].gap && Math.abs(evals[2].gap.l1 - (evals[2].test.l1 - evals[2].train.l1)) < 1e-9,
    );
    assert.ok(evals[2].train.l1 < evals[0].train.l1, `train L1 falls: ${evals[0].train.l1} -> ${evals[2].train.l1}`);
    const finished = ofType(run.events, 'finished')[0].payload;
    assert.equal(finished.reason, 'completed');
    const dir = finished.runDir;
    // The same events are in events.jsonl, in order.
    assert.deepEqual(
      readEvents(dir).map((e) => e.type),
      run.events.map((e) => e.type),
    );
    const metrics = readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n');
    assert.equal(
      metrics[0],
      'step,epoch,train_l1,train_psnr,train_ssim,test_l1,test_psnr,test_ssim,gap_l1,gap_psnr,gap_ssim,' +
        'test_nn_median,copy_rate,copying_ct,diversity,critic_train,critic_test,critic_generated,critic_rt,critic_rv',
    );
    assert.equal(metrics.length, 4);
    // Each test image's L1 per evaluation: its mean is the evaluation's test L1.
    const images = readFileSync(join(dir, 'test-images.csv'), 'utf8').trim().split('\n');
    assert.equal(images[0], 'step,image,l1,nn,nn_rms,own_rms');
    for (const row of metrics.slice(1)) {
      // The memorisation columns: a median distance, a share, and a diversity of the dropout draws.
      const [nnMedian, copyRate, , diversity] = row.split(',').slice(11).map(Number);
      assert.ok(nnMedian > 0 && copyRate >= 0 && copyRate <= 1 && diversity >= 0, row);
      const step = row.split(',')[0];
      const l1s = images.filter((l) => l.startsWith(`${step},`)).map((l) => Number(l.split(',')[2]));
      assert.ok(l1s.length > 1, `images at step ${step}`);
      const mean = l1s.reduce((a, b) => a + b, 0) / l1s.length;
      assert.ok(Math.abs(mean - Number(row.split(',')[5])) < 1e-5, `step ${step}: ${mean} against ${row}`);
    }
    const figures = ['diversity', 'test', 'test-neighbours', 'train', 'train-neighbours'];
    assert.deepEqual(
      readdirSync(join(dir, 'samples')).sort(),
      figures.flatMap((f) => [0, 10, 20].map((step) => `${f}-${String(step).padStart(7, '0')}.png`)),
    );
    const ckpt = JSON.parse(readFileSync(join(dir, 'checkpoints/latest.json'), 'utf8'));
    assert.equal(ckpt.step, 20);
    for (const f of [
      'generator.model.json',
      'generator.weights.bin',
      'discriminator.model.json',
      'optimizer-generator.bin',
      'state.json',
    ])
      assert.ok(existsSync(join(dir, ckpt.dir, f)), f);
    assert.ok(existsSync(join(dir, 'summary-generator.txt')) && existsSync(join(dir, 'config.p2p.yaml')));
    const modelJson = JSON.parse(readFileSync(join(dir, ckpt.dir, 'generator.model.json'), 'utf8'));
    assert.equal(modelJson.modelTopology.config.layers[1].name, 'unet_conv2D_1');
    // Checkpoints load as ordinary tfjs models.
    tf.env().set('PROD', true);
    registerLayers(tf);
    for (const [net, params] of [
      ['generator', started.params.generator],
      ['discriminator', started.params.discriminator],
    ] as const) {
      const json = JSON.parse(readFileSync(join(dir, ckpt.dir, `${net}.model.json`), 'utf8'));
      const bin = readFileSync(join(dir, ckpt.dir, `${net}.weights.bin`));
      const model = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest[0].weights,
          weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
        }),
      );
      assert.equal(model.countParams(), params, net);
      model.dispose();
    }
  });

  it('stops with a checkpoint and resumes the step count and the loss', async () => {
    const first = start(['--config', config, '--out', join(work, 'runs'), '--steps', '60']);
    await first.waitFor((e) => e.type === 'step' && e.payload.step >= 12);
    const exit = await first.trainer.stopAndWait(60_000);
    assert.deepEqual([exit.code, exit.reason], [EXIT_STOPPED, 'stopped']);
    const finished = ofType(first.events, 'finished')[0].payload;
    assert.deepEqual([finished.reason, finished.why], ['stopped', 'a stop was requested']);
    const stoppedAt = finished.step;
    assert.ok(stoppedAt >= 12 && stoppedAt < 60);
    assert.equal(ofType(first.events, 'checkpoint').at(-1)!.payload.step, stoppedAt);
    const lastLosses = ofType(first.events, 'step')
      .slice(-5)
      .map((e) => e.payload.gL1);

    const second = start(['--resume', finished.runDir]);
    assert.equal(await second.exit, 0);
    assert.equal(ofType(second.events, 'started')[0].payload.startStep, stoppedAt);
    const steps = ofType(second.events, 'step').map((e) => e.payload);
    assert.equal(steps[0].step, stoppedAt + 1);
    assert.equal(steps.at(-1)!.step, 60);
    // Continues the loss rather than restarting from a fresh model's (first step L1 ~0.7 here).
    const before = lastLosses.reduce((a, b) => a + b, 0) / lastLosses.length;
    const after = steps.slice(0, 5).reduce((a, s) => a + s.gL1, 0) / 5;
    const fresh = ofType(first.events, 'step')[0].payload.gL1;
    assert.ok(Math.abs(after - before) < Math.abs(fresh - before), `resumed L1 ${after} near ${before}, not ${fresh}`);
    const all = readEvents(finished.runDir);
    assert.deepEqual(
      ofType(all, 'step').map((e) => e.payload.step),
      [...Array(60).keys()].map((i) => i + 1),
    );
  });

  it("trains a stopped and resumed run exactly as an uninterrupted one, mid-epoch in the seed's loop (evaluation has a random stream of its own)", async () => {
    assert.equal(
      analyze(microConfig(0.2, 1)).config.train.loop,
      'seed',
      'the real/generated alternation and the generator batches resume',
    );
    const straight = start(['--config', config, '--out', join(work, 'runs'), '--steps', '20']);
    assert.equal(await straight.exit, 0);
    const first = start(['--config', config, '--out', join(work, 'runs'), '--steps', '8']); // ends with an evaluation at 8
    assert.equal(await first.exit, 0);
    const second = start(['--resume', ofType(first.events, 'finished')[0].payload.runDir, '--steps', '20']);
    assert.equal(await second.exit, 0);
    const losses = (events: TrainerEvent[]) =>
      ofType(events, 'step').map((e) => [e.payload.gL1, e.payload.gGan, e.payload.dLoss]);
    assert.deepEqual([...losses(first.events), ...losses(second.events)], losses(straight.events));
  });

  it('leaves a readable run folder when killed mid-run', async () => {
    const run = start(['--config', config, '--out', join(work, 'runs'), '--steps', '200']);
    const started = (await run.waitFor((e) => e.type === 'started')) as Extract<TrainerEvent, { type: 'started' }>;
    await run.waitFor((e) => e.type === 'checkpoint');
    await run.waitFor((e) => e.type === 'step' && e.payload.step >= 55);
    run.trainer.kill();
    await run.exit;
    const dir = started.payload.runDir;
    const events = readEvents(dir); // every line parses
    assert.ok(ofType(events, 'step').length >= 55);
    const latest = JSON.parse(readFileSync(join(dir, 'checkpoints/latest.json'), 'utf8'));
    assert.equal(latest.step, 50);
    const names = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? names(join(d, e.name)) : [e.name]));
    assert.deepEqual(
      names(dir).filter((n) => n.includes('.tmp-')),
      [],
      'no half-written files',
    );
    const resumed = start(['--resume', dir, '--steps', '52']);
    assert.equal(await resumed.exit, 0);
    assert.deepEqual(
      ofType(resumed.events, 'step').map((e) => e.payload.step),
      [51, 52],
    );
  });

  it('reports a missing data folder before training', async () => {
    const bad = join(work, 'bad.p2p.yaml');
    writeFileSync(bad, readFileSync(config, 'utf8').replace('builtin:faces', 'no/such/folder'));
    const run = start(['--config', bad, '--out', join(work, 'runs-bad')]);
    assert.equal(await run.exit, 1);
    assert.match(
      ofType(run.events, 'error')[0].payload.message,
      /`train.data.train`: folder no\/such\/folder does not exist/,
    );
    assert.equal(existsSync(join(work, 'runs-bad')), false, 'no run folder for a run that never started');
  });
});

/** Polls `read` until it gives a value (files another process writes). */
async function until<T>(read: () => T | undefined, what: string, ms = 60_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const value = read();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Processes whose command line has `needle` (Linux: /proc). */
function processesWith(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** `p2p train` as a user runs it, in a config of its own (so that its trainer can be found), up to its first steps. */
async function p2pTrainUntilStep(name: string, step: number) {
  const file = join(work, `${name}.p2p.yaml`);
  writeFileSync(file, readFileSync(config, 'utf8'));
  const cli = spawn(
    process.execPath,
    [join(root, 'dist', 'cli.js'), 'train', file, '--steps', '400', '--out', join(work, name)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, P2P_DATA_DIR: dataDir },
    },
  );
  let stderr = '';
  cli.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
  const runDir = await until(() => /\n {2}run: (.+)\n/.exec(stderr)?.[1], 'the run folder');
  await until(
    () => (existsSync(join(runDir, 'events.jsonl')) && ofType(readEvents(runDir), 'step').length >= step) || undefined,
    `step ${step}`,
  );
  return { cli, exit, runDir, file, stderr: () => stderr };
}

describe('a trainer and its host', () => {
  it('is killed with its process group when it does not stop within the grace period', async () => {
    const run = start(['--config', config, '--out', join(work, 'runs'), '--steps', '400']);
    await run.waitFor((e) => e.type === 'step' && e.payload.step >= 3);
    const pid = run.trainer.child.pid!;
    const exit = await run.trainer.stopAndWait(1); // it stops between steps, after a checkpoint: 1 ms is too short
    assert.deepEqual([exit.signal, exit.reason], ['SIGKILL', 'failed']);
    assert.throws(() => process.kill(-pid, 0), { code: 'ESRCH' }, 'nothing is left in its process group');
  });

  it('killed between checkpoints, resumes without repeating a step or an evaluation in its records', async () => {
    const first = start(['--config', config, '--out', join(work, 'killed'), '--steps', '100']);
    // The checkpoint at 50 (an epoch), evaluations every 10 steps: killed after the one at 60 or later.
    await first.waitFor((e) => e.type === 'eval' && e.payload.step >= 60);
    first.trainer.kill();
    await first.exit;
    const runDir = ofType(first.events, 'started')[0].payload.runDir;
    const metricsSteps = () =>
      readFileSync(join(runDir, 'metrics.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => Number(l.split(',')[0]));
    assert.ok(metricsSteps().at(-1)! >= 60, 'evaluations after the last checkpoint were written');
    const resumed = start(['--resume', runDir]);
    assert.equal(await resumed.exit, 0);
    assert.equal(ofType(resumed.events, 'started')[0].payload.startStep, 50);
    assert.deepEqual(metricsSteps(), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    const imageSteps = readFileSync(join(runDir, 'test-images.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .filter((l) => l.split(',')[1] === '0')
      .map((l) => Number(l.split(',')[0]));
    assert.deepEqual(imageSteps, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 'test-images.csv: no step twice');
    const steps = ofType(readEvents(runDir), 'step').map((e) => e.payload.step);
    assert.deepEqual(
      steps,
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    // TensorBoard's log: every record's CRCs hold, each metric once per evaluation, each loss once per step.
    const board = tensorboardEvents(runDir);
    for (const tag of ['train/L1', 'test/L1', 'gap/L1', 'test/PSNR', 'test/SSIM', 'samples/test', 'samples/train'])
      assert.deepEqual(stepsOf(board, tag), metricsSteps(), tag);
    assert.deepEqual(stepsOf(board, 'loss/D'), steps);
    const testL1 = board.flatMap((e) => e.values.filter((v) => v.tag === 'test/L1').map((v) => v.simpleValue!));
    const csvL1 = readFileSync(join(runDir, 'metrics.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[5]));
    testL1.forEach((v, i) =>
      assert.ok(Math.abs(v - csvL1[i]) < 1e-5, `test/L1 ${v} against metrics.csv's ${csvL1[i]}`),
    );
  });

  it('checkpoints, says why and exits when its host is killed (SIGKILL) mid-run', async () => {
    const { cli, exit, runDir, file } = await p2pTrainUntilStep('host-killed', 5);
    cli.kill('SIGKILL');
    await exit;
    const finished = await until(() => ofType(readEvents(runDir), 'finished')[0]?.payload, 'the finished event');
    assert.deepEqual([finished.reason, finished.why], ['stopped', 'the host went away']);
    assert.ok(finished.step >= 5 && finished.step < 400, `stopped at ${finished.step}`);
    const latest = JSON.parse(readFileSync(join(runDir, 'checkpoints/latest.json'), 'utf8'));
    assert.equal(latest.step, finished.step, 'a checkpoint of the step it stopped at');
    await until(() => (processesWith(file).length ? undefined : true), 'the trainer to exit', 15_000);
  });

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    it(`stops like Ctrl+C when p2p train gets ${signal}`, async () => {
      const { cli, exit, runDir, stderr } = await p2pTrainUntilStep(`signal-${signal}`, 3);
      cli.kill(signal);
      assert.equal(await exit, 130, stderr()); // the status of an interrupted command; the checkpoint is written
      assert.match(stderr(), new RegExp(`${signal}: stopping, writing a checkpoint`));
      assert.match(stderr(), /stopped at step \d+ \(a stop was requested\)/);
      const finished = ofType(readEvents(runDir), 'finished')[0].payload;
      const latest = JSON.parse(readFileSync(join(runDir, 'checkpoints/latest.json'), 'utf8'));
      assert.deepEqual([finished.reason, latest.step], ['stopped', finished.step]);
    });
  }
});
