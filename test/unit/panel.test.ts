import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isWebviewMessage } from '../../src/protocol/panel';
import { analyze } from '../../src/core/analysis';
import { readRuns, readRunsAndSweeps, sampleInside } from '../../src/runFolders/runFolders';
import type { SweepPlan } from '../../src/runFolders/sweepFolder';
import { rowCells } from '../../src/runFolders/sweepTable';
import { configDiff, parseEvents, readRun } from '../../src/runFolders/runState';
import { RunTail } from '../../src/runFolders/runTail';
import type { TrainerEvent } from '../../src/protocol/trainer';
import { tempDir } from '../support/tempDir';

const scratch = tempDir('p2p-panel-');

const q = (l1: number) => ({ l1, psnr: 10, ssim: 0.2 });

function writeRun(root: string, id: string, events: TrainerEvent[], extra = ''): string {
  const dir = join(root, id);
  mkdirSync(join(dir, 'samples'), { recursive: true });
  writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n' + extra);
  return dir;
}

const started = (dir: string, startStep = 0): TrainerEvent => ({
  type: 'started',
  payload: {
    runDir: dir,
    name: 'tiny',
    backend: 'wasm',
    backendLog: [],
    totalSteps: 40,
    stepsPerEpoch: 20,
    batchSize: 5,
    trainImages: 100,
    testImages: 10,
    params: { generator: 100, discriminator: 20 },
    startStep,
    evalMode: 'training',
    time: '',
  },
});
const step = (n: number, gL1: number): TrainerEvent => ({
  type: 'step',
  payload: {
    step: n,
    epoch: n / 20,
    gL1,
    gGan: 0.7,
    gTotal: 10 * gL1 + 0.7,
    dLoss: 0.6,
    imgPerSec: 10 + n,
    numTensors: 100,
  },
});
const evalAt = (n: number, train: number, test: number): TrainerEvent => ({
  type: 'eval',
  payload: { step: n, epoch: n / 20, train: q(train), test: q(test), gap: q(test - train) },
});

describe('runs panel state', () => {
  it('reads a run folder: status, curves, best test L1, samples', () => {
    const root = mkdtempSync(join(scratch, 'case-'));
    const dir = join(root, 'a');
    writeRun(root, 'a', [
      started(dir),
      evalAt(0, 0.8, 0.9),
      step(1, 0.7),
      step(2, 0.6),
      evalAt(2, 0.5, 0.4),
      {
        type: 'sample',
        payload: { step: 2, split: 'test', path: join(dir, 'samples/test-0000002.png'), mode: 'training' },
      },
      { type: 'finished', payload: { step: 2, reason: 'stopped', runDir: dir } },
    ]);
    const [run] = readRuns(root, () => false);
    assert.equal(run.status, 'stopped');
    assert.equal(run.backend, 'wasm');
    assert.equal(run.step, 2);
    assert.deepEqual(
      run.steps.map((s) => s.gL1),
      [0.7, 0.6],
    );
    assert.equal(run.bestTestL1, 0.4);
    assert.equal(run.bestStep, 2, 'the step of the best test L1');
    assert.equal(run.lastEval?.step, 2);
    assert.equal(run.samples[0].split, 'test');
  });

  it('tells running from interrupted, and a resumed run from a finished one', () => {
    const root = mkdtempSync(join(scratch, 'case-'));
    const a = writeRun(root, 'a', [started(join(root, 'a')), step(1, 0.5)]);
    assert.equal(readRuns(root, (d) => d === a)[0].status, 'running');
    assert.equal(readRuns(root, () => false)[0].status, 'interrupted');
    appendFileSync(
      join(a, 'events.jsonl'),
      JSON.stringify({ type: 'finished', payload: { step: 1, reason: 'stopped', runDir: a } }) +
        '\n' +
        JSON.stringify(started(a, 1)) +
        '\n',
    );
    assert.equal(readRuns(root, (d) => d === a)[0].status, 'running');
  });

  it('follows a run across backends: the newest backend and adapter, the earlier ones, a GPU failure until resumed', () => {
    const root = mkdtempSync(join(scratch, 'case-'));
    const dir = join(root, 'a');
    const adapter = {
      vendor: 'nvidia',
      architecture: 'hopper',
      device: 'H200',
      description: 'NVIDIA H200',
      software: false,
      features: ['subgroups'],
      limits: {},
    };
    const onGpu = {
      ...started(dir),
      payload: { ...(started(dir).payload as object), backend: 'webgpu', adapter },
    } as TrainerEvent;
    const lost = 'the GPU device was lost (unknown: driver reset) at step 2';
    writeRun(root, 'a', [
      onGpu,
      step(1, 0.7),
      step(2, 0.6),
      { type: 'error', payload: { message: lost, device: true } },
      { type: 'finished', payload: { step: 2, reason: 'failed', runDir: dir } },
    ]);
    let [run] = readRuns(root, () => false);
    assert.deepEqual(
      [run.status, run.backend, run.backends, run.adapter?.description, run.error, run.deviceError],
      ['failed', 'webgpu', ['webgpu'], 'NVIDIA H200', lost, true],
    );
    appendFileSync(
      join(dir, 'events.jsonl'),
      [started(dir, 2), step(3, 0.5)].map((e) => JSON.stringify(e) + '\n').join(''),
    );
    [run] = readRuns(root, (d) => d === dir);
    assert.deepEqual(
      [run.status, run.backend, run.backends, run.adapter, run.error, run.deviceError],
      ['running', 'wasm', ['webgpu', 'wasm'], undefined, undefined, undefined],
    );
  });

  it('survives half-written and deleted run folders', () => {
    const root = mkdtempSync(join(scratch, 'case-'));
    writeRun(root, 'half', [started(join(root, 'half')), step(1, 0.5)], '{"type":"step","payload":{"st');
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(root, 'half', 'resolved.json'), '{"config": {"inp');
    const runs = readRuns(root, () => false);
    assert.deepEqual(
      runs.map((r) => r.id),
      ['half'],
    );
    assert.equal(runs[0].step, 1);
    assert.equal(runs[0].config, undefined);
    rmSync(join(root, 'half'), { recursive: true });
    assert.deepEqual(
      readRuns(root, () => false),
      [],
    );
    assert.deepEqual(
      readRuns(join(root, 'nowhere'), () => false),
      [],
    );
    assert.equal(parseEvents('not json\n{"type":"warning","payload":{"message":"x"}}\n').length, 1);
  });

  it('stays fast with 50 runs of 1,000 samples each', () => {
    const root = mkdtempSync(join(scratch, 'case-'));
    for (let r = 0; r < 50; r++) {
      const dir = join(root, `run-${String(r).padStart(2, '0')}`);
      const events: TrainerEvent[] = [started(dir)];
      for (let i = 1; i <= 1000; i++) {
        events.push(step(i, 1 / i));
        events.push({
          type: 'sample',
          payload: {
            step: i,
            split: i % 2 ? 'train' : 'test',
            path: join(dir, `samples/x-${i}.png`),
            mode: 'training',
          },
        });
      }
      writeRun(root, `run-${String(r).padStart(2, '0')}`, events);
    }
    const t = performance.now();
    const runs = readRuns(root, () => false);
    const ms = performance.now() - t;
    assert.equal(runs.length, 50);
    assert.equal(runs[0].samples.length, 1000);
    assert.ok(runs[0].steps.length <= 500, 'curves are thinned for the webview');
    assert.ok(ms < 5000, `read in ${ms} ms`);
    // With a cache, a refresh parses only the run that changed.
    const cache = new Map();
    const first = readRuns(root, () => false, cache);
    appendFileSync(join(root, 'run-07', 'events.jsonl'), JSON.stringify(step(1001, 0.001)) + '\n');
    const t2 = performance.now();
    const again = readRuns(root, () => false, cache);
    const refresh = performance.now() - t2;
    assert.equal(again.find((r) => r.id === 'run-07')!.step, 1001);
    assert.strictEqual(
      again.find((r) => r.id === 'run-08'),
      first.find((r) => r.id === 'run-08'),
      'unchanged runs are not parsed again',
    );
    assert.notStrictEqual(
      again.find((r) => r.id === 'run-07'),
      first.find((r) => r.id === 'run-07'),
    );
    assert.ok(refresh < ms, `cached refresh ${refresh} ms vs ${ms} ms`);
  });

  it('reads sweep folders: variant runs with sweep ids, table rows, a failure that left no run', () => {
    const root = mkdtempSync(join(scratch, 'case-'));
    writeRun(root, '20261128-010000-plain', [started(join(root, 'plain')), step(1, 0.5)]);
    const sweepDir = join(root, 'skips');
    mkdirSync(sweepDir);
    const variant = (name: string, params: number) => ({
      name,
      dir: name,
      origin: 'progressiveSkips' as const,
      overrides: {},
      skips: name.slice(6),
      dropout: '1 @0.5',
      params,
      discriminatorParams: 20,
      macs: 2e6,
    });
    const plan: SweepPlan = {
      name: 'skips',
      configFile: '/x/a.p2p.yaml',
      steps: 2,
      seed: 1,
      data: { train: 'builtin:faces', test: 'builtin:garments', transform: 'canny' },
      created: '',
      variants: [variant('skips-all', 120), variant('skips-none', 90), variant('skips-1', 100)],
    };
    writeFileSync(join(sweepDir, 'sweep.json'), JSON.stringify(plan));
    const t = (s: number) => new Date(Date.UTC(2026, 10, 28, 1, 0, s)).toISOString();
    const timed = (e: TrainerEvent, s: number) => ({ ...e, time: t(s) }) as unknown as TrainerEvent;
    writeRun(sweepDir, 'skips-all', [
      timed(started(join(sweepDir, 'skips-all')), 0),
      timed(step(1, 0.6), 5),
      timed(step(2, 0.5), 9),
      timed(evalAt(2, 0.3, 0.45), 10),
      timed({ type: 'finished', payload: { step: 2, reason: 'completed', runDir: '' } }, 12),
    ]);
    appendFileSync(
      join(sweepDir, 'sweep.jsonl'),
      JSON.stringify({
        type: 'exit',
        variant: 'skips-none',
        reason: 'failed',
        error: 'data: no such folder',
        time: t(1),
      }) + '\n{"type": "exi',
    );

    const { runs, sweeps } = readRunsAndSweeps(root, () => false);
    assert.deepEqual(
      runs.map((r) => [r.id, r.name, r.sweep]),
      [
        ['skips/skips-all', 'skips-all', 'skips'],
        ['20261128-010000-plain', 'tiny', undefined],
      ].sort((a, b) => (a[0]! < b[0]! ? 1 : -1)),
    );
    assert.equal(sweeps.length, 1);
    const rows = sweeps[0].rows;
    assert.deepEqual(
      rows.map((r) => [r.variant, r.status]),
      [
        ['skips-all', 'completed'],
        ['skips-none', 'failed'],
        ['skips-1', 'pending'],
      ],
    );
    assert.equal(rows[1].error, 'data: no such folder');
    assert.deepEqual(rowCells(rows[0]), [
      'skips-all',
      'all',
      '1 @0.5',
      '120',
      '2.00 M',
      '0.300',
      '0.200',
      '0.450',
      '0.200',
      '+0.150',
      '12.0',
      '0:12',
      '2 steps',
    ]);
    assert.equal(rowCells(rows[2])[12], 'pending');
  });

  it('lists config differences against a base run', () => {
    const base = analyze('').config;
    const other = analyze('generator:\n  skips: [1, 2]\ntrain: { batchSize: 2 }\n').config;
    const diff = configDiff(base, other).map(
      (d) => `${d.path}: ${JSON.stringify(d.base)} -> ${JSON.stringify(d.other)}`,
    );
    assert.deepEqual(diff, [
      'generator.decoder[2].skip: true -> false',
      'generator.decoder[3].skip: true -> false',
      'generator.decoder[4].skip: true -> false',
      'generator.decoder[5].skip: true -> false',
      'train.batchSize: 5 -> 2',
    ]);
  });
});

describe('panel boundaries', () => {
  it('serves only PNG samples inside a run folder', () => {
    const run = '/work/runs/20261128-tiny';
    assert.equal(
      sampleInside(run, '/work/runs/20261128-tiny/samples/test-0000020.png'),
      '/work/runs/20261128-tiny/samples/test-0000020.png',
    );
    assert.equal(sampleInside(run, 'samples/train-0000000.png'), '/work/runs/20261128-tiny/samples/train-0000000.png');
    for (const outside of [
      '/etc/passwd',
      '../../../etc/passwd.png',
      'samples/../../other/samples/x.png',
      '/work/runs/20261128-tiny/checkpoints/latest.json',
      '/work/runs/20261128-tiny/config.p2p.yaml',
      'samples/../events.jsonl',
    ]) {
      assert.equal(sampleInside(run, outside), undefined, outside);
    }
  });

  it('accepts only well-formed webview messages', () => {
    assert.ok(isWebviewMessage({ type: 'ready', payload: {} }));
    assert.ok(isWebviewMessage({ type: 'resume', payload: { id: 'x' } }));
    assert.ok(isWebviewMessage({ type: 'resume', payload: { id: 'x', backend: 'wasm' } }));
    assert.equal(isWebviewMessage({ type: 'resume', payload: { id: 'x', backend: '--inspect' } }), false);
    assert.ok(isWebviewMessage({ type: 'openReport', payload: { id: 'skips' } }));
    assert.equal(isWebviewMessage({ type: 'openReport', payload: {} }), false);
    assert.ok(isWebviewMessage({ type: 'tabShown', payload: { tab: 'ablations' } }));
    assert.equal(isWebviewMessage({ type: 'tabShown', payload: { tab: 'settings' } }), false);
    assert.ok(isWebviewMessage({ type: 'probe', payload: { id: 'e2e-skips/skips-all' } }));
    assert.equal(isWebviewMessage({ type: 'probe', payload: { id: 3 } }), false);
    for (const format of ['onnx', 'pytorch', 'tfjs'])
      assert.ok(isWebviewMessage({ type: 'export', payload: { id: 'x', format } }), format);
    assert.equal(isWebviewMessage({ type: 'export', payload: { id: 'x', format: 'keras' } }), false);
    for (const bad of [
      null,
      'ready',
      { type: 'ready' },
      { type: 'resume', payload: {} },
      { type: 'rm -rf', payload: {} },
      { type: 'openSample', payload: { uri: 'file:///etc/passwd' } },
    ]) {
      assert.equal(isWebviewMessage(bad), false, JSON.stringify(bad));
    }
  });
});

describe('a run read as it grows (RunTail)', () => {
  it('gives what a full read gives, holds a half-written line back, and starts over after a rewrite', () => {
    const root = mkdtempSync(join(scratch, 'tail-'));
    const dir = writeRun(root, 'grow', [started(join(root, 'grow')), ...[1, 2, 3].map((i) => step(i, 1 / i))]);
    const files = {
      readText: (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined),
      isLive: () => true,
    };
    const tail = new RunTail(dir);
    assert.equal(tail.read(files)!.step, 3);
    const next = JSON.stringify(step(4, 0.25));
    appendFileSync(join(dir, 'events.jsonl'), next.slice(0, 10));
    assert.equal(tail.read(files)!.step, 3, 'a line being written is not read yet');
    appendFileSync(join(dir, 'events.jsonl'), next.slice(10) + '\n');
    for (let i = 5; i <= 3000; i++) appendFileSync(join(dir, 'events.jsonl'), JSON.stringify(step(i, 1 / i)) + '\n');
    const changed = 'config.p2p.yaml changed since the run started: train.sampleEvery 0.5 → 0.25';
    appendFileSync(
      join(dir, 'events.jsonl'),
      JSON.stringify({ type: 'warning', payload: { message: changed } }) + '\n',
    );
    const grown = tail.read(files)!;
    assert.deepEqual(grown, readRun(dir, files), 'the same as reading the whole file');
    assert.deepEqual(grown.warnings, [changed], 'warnings are kept for the panel');
    assert.equal(grown.step, 3000);
    assert.ok(grown.steps.length <= 500 && grown.steps.at(-1)!.step === 3000, 'thinned, with the last step');
    // A resume rewrites the file (a new one renamed over it) with fewer lines: read from its start again.
    const kept = readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').slice(0, 3).join('\n') + '\n';
    writeFileSync(join(dir, 'events.tmp'), kept);
    renameSync(join(dir, 'events.tmp'), join(dir, 'events.jsonl'));
    assert.equal(tail.read(files)!.step, 2);
  });
});
