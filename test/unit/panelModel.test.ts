// The runs panel's view model (src/client/panelModel.ts): run and sweep states in memory, what was read of their
// folders as a fake, and the `runs` message out; then which runs a refresh sends again. The sample URIs of
// src/client/panelReader.ts are read from real folders.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import type { SchedulerState } from '../../src/core/slurm';
import type { RunState, SweepRow } from '../../src/protocol/runs';
import type { Probe } from '../../src/protocol/trainer';
import type { SweepState } from '../../src/runFolders/sweepFolder';
import type { SweepStatus } from '../../src/sweep/executor';
import { NOTHING_SENT, panelUpdate, runsDelta, type PanelInput, type RunFacts } from '../../src/client/panelModel';
import { PanelReader } from '../../src/client/panelReader';
import type { TrainerEvent } from '../../src/protocol/trainer';
import { tempDir } from '../support/tempDir';

const run = (id: string, extra: Partial<RunState> = {}): RunState => ({
  id,
  dir: `/runs/${id}`,
  name: id,
  status: 'completed',
  backends: ['wasm'],
  step: 10,
  steps: [{ step: 10, gL1: 0.5, gGan: 0.7, dLoss: 0.6, imgPerSec: 12 }],
  evals: [],
  samples: [{ step: 10, split: 'test', path: `/runs/${id}/samples/test-0000010.png` }],
  seconds: 3,
  warnings: [],
  config: analyze('').config,
  ...extra,
});

const probe = (dir: string): Probe => ({
  run: dir,
  step: 10,
  evalMode: 'training',
  images: { train: 4, test: 4 },
  alphas: [0, 1],
  skips: [{ level: 1, encoderLevel: 1, channels: 8 }],
  unmodified: { train: { l1: 0.1, psnr: 20, ssim: 0.8 }, test: { l1: 0.2, psnr: 18, ssim: 0.7 } },
  doses: [],
  figures: {
    unmodified: `${dir}-probe/unmodified.png`,
    alphaZero: [{ level: 1, mode: 'scale', image: `${dir}-probe/a.png` }],
  },
});

/** A world of folders the test changes between refreshes, and a count of the costly reads asked of it. */
function world() {
  const w = {
    folderKeys: new Map<string, string>(),
    liveSteps: new Map<string, number>(),
    probes: new Map<string, { probe: Probe; mtime: number }>(),
    probing: new Set<string>(),
    probeErrors: new Map<string, string>(),
    scheduler: new Map<string, SweepStatus>(),
    asked: [] as string[],
  };
  const facts: RunFacts = {
    folderKey: (dir) => w.folderKeys.get(dir) ?? '100:1',
    liveStep: (dir) => w.liveSteps.get(dir),
    probeMtime: (dir) => w.probes.get(dir)?.mtime,
    probing: (dir) => w.probing.has(dir),
    probeError: (dir) => w.probeErrors.get(dir),
    probe: (dir) => (w.asked.push(`probe ${dir}`), w.probes.get(dir)?.probe),
    macs: (dir) => (w.asked.push(`macs ${dir}`), 1e6),
    checkpointed: (dir) => dir.endsWith('a'),
    samples: (dir, samples) => (
      w.asked.push(`samples ${dir}`),
      samples.map((s) => ({ step: s.step, split: s.split, uri: `uri:${s.path}` }))
    ),
    uri: (file) => `uri:${file}`,
    schedulerStatus: (sw) => (w.asked.push(`squeue ${sw.dir}`), w.scheduler.get(sw.dir)),
  };
  return { w, facts };
}

const ids = (u: { payload: { runs: { id: string }[] } }) => u.payload.runs.map((r) => r.id);

describe('runs panel view model', () => {
  it('sends every run to a new webview: live step, config differences to the base, samples, checkpoint, probe', () => {
    const { w, facts } = world();
    const batch2 = analyze('train: { batchSize: 2 }\n').config;
    const runs = [run('b', { status: 'running', step: 7, config: batch2 }), run('a')];
    w.liveSteps.set('/runs/b', 9);
    w.liveSteps.set('/runs/a', 99); // a finished run shows the step its folder ends at
    w.probes.set('/runs/a', { probe: probe('/runs/a'), mtime: 1234.6 });
    w.probeErrors.set('/runs/b', 'no checkpoint');
    w.probing.add('/runs/b');
    const u = panelUpdate({ runs, sweeps: [], root: '/runs' }, facts, NOTHING_SENT);
    assert.deepEqual(u.payload.order, ['b', 'a']);
    assert.equal(u.payload.root, '/runs');
    assert.deepEqual(ids(u), ['b', 'a']);
    const [b, a] = u.payload.runs;
    assert.deepEqual([b.step, a.step], [9, 10]);
    assert.ok(!('config' in b), 'the config goes as differences only');
    // No base chosen: the last listed run is the base, and has no differences to itself.
    assert.deepEqual(
      b.diff.map((d) => `${d.path}: ${String(d.base)} -> ${String(d.other)}`),
      ['train.batchSize: 5 -> 2'],
    );
    assert.deepEqual(a.diff, []);
    assert.deepEqual(b.samples, [{ step: 10, split: 'test', uri: 'uri:/runs/b/samples/test-0000010.png' }]);
    assert.deepEqual([a.checkpointed, b.checkpointed, a.macs], [true, false, 1e6]);
    assert.equal(a.probe?.figures.unmodified, 'uri:/runs/a-probe/unmodified.png?v=1235');
    assert.equal(a.probe?.figures.alphaZero[0].image, 'uri:/runs/a-probe/a.png?v=1235');
    assert.ok(!('run' in a.probe!), "the probe leaves out the run's path");
    assert.deepEqual([a.probing, a.probeError, b.probing, b.probeError], [undefined, undefined, true, 'no checkpoint']);
    assert.deepEqual(u.delta, { changed: ['b', 'a'], removed: [] });
  });

  it('sends again only the runs whose view changed: a progress tick sends the live run alone', () => {
    const { w, facts } = world();
    const input: PanelInput = { runs: [run('c'), run('b', { status: 'running' }), run('a')], sweeps: [], root: '/r' };
    let u = panelUpdate(input, facts, NOTHING_SENT);
    w.asked.length = 0;
    u = panelUpdate(input, facts, u.sent);
    assert.deepEqual(ids(u), [], 'nothing changed: no run is sent');
    assert.equal(u.payload.order, undefined, 'an unchanged order is not sent: the webview keeps its runs');
    assert.equal(u.payload.sweeps, undefined, 'unchanged sweeps are not sent');
    assert.equal(u.empty, true, 'nothing to post');
    assert.deepEqual(w.asked, [], 'no file of an unchanged run is read');

    w.liveSteps.set('/runs/b', 11);
    u = panelUpdate(input, facts, u.sent);
    assert.deepEqual(u.delta, { changed: ['b'], removed: [] });
    assert.equal(u.payload.runs[0].step, 11);
    assert.deepEqual([u.payload.order, u.payload.sweeps, u.empty], [undefined, undefined, false], 'the tick: one run');
    assert.deepEqual(w.asked, ['macs /runs/b', 'samples /runs/b', 'probe /runs/b']);
    u = panelUpdate(input, facts, u.sent);
    assert.deepEqual(ids(u), [], 'the same step is not sent twice');

    w.folderKeys.set('/runs/c', '200:2'); // events.jsonl grew
    w.probes.set('/runs/a', { probe: probe('/runs/a'), mtime: 5 });
    u = panelUpdate(input, facts, u.sent);
    assert.deepEqual(ids(u), ['c', 'a']);
    w.probing.add('/runs/c');
    u = panelUpdate(input, facts, u.sent);
    assert.deepEqual(ids(u), ['c']);
    w.probing.delete('/runs/c');
    w.probeErrors.set('/runs/c', 'failed');
    u = panelUpdate(input, facts, u.sent);
    assert.deepEqual(ids(u), ['c']);

    const renamed = { ...input, runs: [run('c'), run('b', { status: 'stopped' }), run('a', { name: 'A' })] };
    u = panelUpdate(renamed, facts, u.sent);
    assert.deepEqual(ids(u), ['b', 'a'], 'a new status or name is a change');
    assert.equal(u.payload.runs[0].step, 10, 'a stopped run no longer shows the live step');
  });

  it('sends every run again when the base changes, or when the base run changed', () => {
    const { w, facts } = world();
    const input: PanelInput = { runs: [run('b'), run('a')], sweeps: [], root: '/r' };
    let u = panelUpdate(input, facts, NOTHING_SENT);
    u = panelUpdate({ ...input, base: 'b' }, facts, u.sent);
    assert.deepEqual(ids(u), ['b', 'a']);
    u = panelUpdate({ ...input, base: 'gone' }, facts, u.sent);
    assert.deepEqual(ids(u), ['b', 'a'], 'a base that is gone falls back to the last run');
    w.folderKeys.set('/runs/a', '300:3');
    u = panelUpdate({ ...input, base: 'gone' }, facts, u.sent);
    assert.deepEqual(ids(u), ['b', 'a']);
  });

  it('tells removed runs, and sends a run that comes back', () => {
    const { facts } = world();
    let u = panelUpdate({ runs: [run('b'), run('a')], sweeps: [], root: '/r', base: 'a' }, facts, NOTHING_SENT);
    u = panelUpdate({ runs: [run('a')], sweeps: [], root: '/r', base: 'a' }, facts, u.sent);
    assert.deepEqual(u.delta, { changed: [], removed: ['b'] });
    assert.deepEqual(u.payload.order, ['a']);
    assert.deepEqual([...u.sent.runs.keys()], ['a'], 'a removed run is forgotten');
    u = panelUpdate({ runs: [run('b'), run('a')], sweeps: [], root: '/r', base: 'a' }, facts, u.sent);
    assert.deepEqual(ids(u), ['b'], 'the webview dropped it: it is sent again');
    assert.deepEqual(runsDelta(new Map([['x', 'k']]), new Map([['x', 'k']])), { changed: [], removed: [] });
  });

  it('selects a followed run once it is sent, and asks for a tab on every message', () => {
    const { w, facts } = world();
    const input: PanelInput = { runs: [run('a')], sweeps: [], root: '/r', tab: 'runs', follow: 'new' };
    let u = panelUpdate(input, facts, NOTHING_SENT);
    assert.deepEqual([u.payload.select, u.followed, u.payload.tab], [undefined, false, 'runs']);
    const listed = { ...input, runs: [run('new', { status: 'running' }), run('a')] };
    u = panelUpdate(listed, facts, u.sent);
    assert.deepEqual([u.payload.select, u.followed], ['new', true]);
    u = panelUpdate({ ...listed, follow: 'a' }, facts, u.sent);
    assert.equal(u.payload.select, undefined, 'a run not sent is not selected: the webview may not have it');
    w.liveSteps.set('/runs/new', 3);
    u = panelUpdate({ ...listed, tab: undefined, follow: undefined }, facts, u.sent);
    assert.ok(!('tab' in u.payload) && !('select' in u.payload));
  });

  it('shows sweeps: variant run ids, and on SLURM the scheduler states, jobs and whether to poll', () => {
    const { w, facts } = world();
    const row = (variant: string, scheduler?: SchedulerState): SweepRow => ({
      variant,
      origin: 'progressiveSkips',
      skips: 'all',
      dropout: 'none',
      params: 100,
      macs: 1e6,
      status: 'pending',
      step: 0,
      seconds: 0,
      ...(scheduler ? { scheduler } : {}),
    });
    const sweep = (dir: string, executor: 'local' | 'slurm'): SweepState => ({
      dir,
      plan: {
        name: 'skips',
        configFile: '/x.p2p.yaml',
        steps: 30,
        seed: 1,
        data: { train: 'builtin:faces', transform: 'canny' },
        executor,
        created: '',
        variants: ['v1', 'v2'].map((name) => ({
          name,
          dir: `${name}-dir`,
          origin: 'progressiveSkips' as const,
          overrides: {},
          skips: 'all',
          dropout: 'none',
          params: 100,
          discriminatorParams: 20,
          macs: 1e6,
        })),
      },
      rows: [row('v1'), row('v2')],
      runs: new Map([['v1', run('s/v1-dir')]]),
    });
    const input: PanelInput = {
      runs: [],
      sweeps: [sweep('/r/local', 'local'), sweep('/r/array', 'slurm')],
      root: '/r',
    };
    let u = panelUpdate(input, facts, NOTHING_SENT);
    assert.deepEqual(w.asked, ['squeue /r/array'], 'squeue is asked of SLURM sweeps only');
    const [local, array] = u.payload.sweeps ?? [];
    assert.deepEqual(
      [local.id, local.executor, local.runIds, local.steps],
      ['local', 'local', ['local/v1-dir', undefined], 30],
    );
    assert.ok(!('scheduler' in local));
    assert.deepEqual(array.scheduler, { jobs: [], active: 0 });
    assert.equal(u.schedulerActive, false);

    const states = new Map<string, SchedulerState>([
      ['v1', { state: 'running', job: '123_0' }],
      ['v2', { state: 'pending', job: '123_1', reason: 'Resources' }],
    ]);
    u = panelUpdate(input, facts, u.sent);
    assert.equal(u.payload.sweeps, undefined, 'no new states: the sweeps are not sent again');
    w.scheduler.set('/r/array', { states, error: 'squeue: timed out' });
    u = panelUpdate(input, facts, u.sent);
    assert.deepEqual(u.payload.sweeps?.[1].scheduler, { jobs: ['123'], active: 2, error: 'squeue: timed out' });
    assert.deepEqual(u.payload.sweeps?.[1].rows[1].scheduler, { state: 'pending', job: '123_1', reason: 'Resources' });
    assert.equal(u.schedulerActive, true);
  });
});

describe('runs panel reads (PanelReader)', () => {
  const scratch = tempDir('p2p-panel-model-');
  const write = (dir: string, events: TrainerEvent[]) =>
    writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e) + '\n').join(''));
  const sample = (dir: string, step: number): TrainerEvent => ({
    type: 'sample',
    payload: { step, split: 'test', path: join(dir, `samples/test-${step}.png`), mode: 'training' },
  });

  it('gives samples as URIs with their mtime, leaves out deleted ones, and keeps what it stat-ed', () => {
    const root = mkdtempSync(join(scratch, 'case-'));
    const dir = join(root, 'a');
    mkdirSync(join(dir, 'samples'), { recursive: true });
    for (const s of [1, 2, 3]) writeFileSync(join(dir, `samples/test-${s}.png`), '');
    utimesSync(join(dir, 'samples/test-1.png'), 1000, 1000);
    rmSync(join(dir, 'samples/test-3.png'));
    write(dir, [sample(dir, 1), sample(dir, 2), sample(dir, 3)]);
    const reader = new PanelReader();
    const facts = reader.facts((file) => `uri:${file}`);
    const [state] = reader.read(root, () => false).runs;
    assert.match(facts.folderKey(dir) ?? '', /^\d+:[\d.]+$/, "events.jsonl's size and mtime");
    const uris = facts.samples(dir, state.samples);
    assert.equal(uris.length, 2, 'a sample deleted while shown is left out');
    assert.equal(uris[0].uri, `uri:${dir}/samples/test-1.png?v=1000000`);
    assert.match(uris[1].uri, /test-2\.png\?v=\d+$/);
    rmSync(join(dir, 'samples/test-1.png'));
    assert.equal(facts.samples(dir, state.samples).length, 2, 'samples already shown are not stat-ed again');
    assert.equal(facts.macs(dir), undefined, 'no config.p2p.yaml: no MACs');
    assert.equal(facts.checkpointed(dir), false);
  });
});
