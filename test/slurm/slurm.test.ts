// The SLURM executor through a real one-node cluster (scripts/slurm-cluster.sh: slurmctld, slurmd and munged on
// localhost with two fake GPUs and a partition `urgent` that preempts `batch`), driven as a user drives it: `p2p
// ablate` submits, squeue/sbatch/scancel act, and the sweep folder is read afterwards.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { readSweep, readSweepLog, type SweepLogEntry } from '../../src/runFolders/sweepFolder';
import { rowCells } from '../../src/runFolders/sweepTable';
import { readSubmissions, schedulerStatus } from '../../src/sweep/slurm';
import { tempDir } from '../support/tempDir';
import { microConfig } from '../support/micro';
import { assertReportOverSeeds } from '../support/overSeeds';

const root = join(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');
const work = tempDir('p2p-slurm-');
const env = { ...process.env, P2P_DATA_DIR: join(work, 'data') };

// A 3-level U-Net at 16x16 on wasm: about 20 steps a second on one core.
const base = microConfig(0.2);
/** Evaluations every 10 steps (0.2 of an epoch of 50 steps). */
const EVAL_EVERY = 10;

function config(name: string, ablation: string): string {
  const file = join(work, `${name}.p2p.yaml`);
  writeFileSync(file, `${base}ablation:\n  name: ${name}\n  executor: slurm\n${ablation}`);
  return file;
}

function p2p(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: work, env: { ...env, ...extraEnv } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code: code ?? 1, out, err }));
  });
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const sweepDir = (name: string) => join(work, 'runs', name);

/** The last step a variant's run folder recorded (0 before its first step). */
function stepOf(name: string, variant: string): number {
  return readSweep(sweepDir(name))?.rows.find((r) => r.variant === variant)?.step ?? 0;
}

/** Every variant completed, and no task left on the scheduler (its wrapper has logged its exit). */
async function allCompleted(name: string): Promise<boolean | undefined> {
  const state = readSweep(sweepDir(name));
  if (!state?.rows.every((r) => r.status === 'completed')) return undefined;
  const { states } = await schedulerStatus(state.dir, state.plan);
  return [...states.values()].every((s) => s.state === 'completed') || undefined;
}

/** Every step of the run once in events.jsonl, and metrics.csv's evaluations once each, on the grid. */
function assertStepsOnce(runDir: string, steps: number): void {
  const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; payload: { step: number } });
  const stepped = events.filter((e) => e.type === 'step').map((e) => e.payload.step);
  assert.deepEqual(
    stepped,
    Array.from({ length: steps }, (_, i) => i + 1),
    'each step once, in order',
  );
  const metrics = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1);
  const evaluated = metrics.map((l) => Number(l.split(',')[0]));
  const grid = Array.from({ length: steps / EVAL_EVERY + 1 }, (_, i) => i * EVAL_EVERY);
  assert.deepEqual(evaluated, grid, 'each evaluation once, none missing');
}

const starts = (log: SweepLogEntry[], variant: string) =>
  log.filter((e): e is Extract<SweepLogEntry, { type: 'start' }> => e.type === 'start' && e.variant === variant);

describe('sweeps on SLURM', () => {
  before(() => {
    try {
      execFileSync('sinfo', ['-h'], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(
        `no SLURM cluster answers (${(e as Error).message.split('\n')[0]}): start one with ` +
          '`bash scripts/slurm-cluster.sh start DIR` and export SLURM_CONF=DIR/slurm.conf',
      );
    }
  });

  it('runs a 3-variant sweep as one array, two tasks at once on distinct GPUs, with the local report', async () => {
    const file = config(
      'array',
      '  steps: 30\n  progressiveSkips: shallowFirst\n  slurm: { parallel: 2, time: "10" }\n',
    );
    const submit = await p2p(['ablate', file, '--out', 'runs']);
    assert.equal(submit.code, 0, submit.err);
    assert.match(submit.err, /submitted SLURM job \d+: array 0-2%2/);
    const script = readFileSync(join(sweepDir('array'), 'slurm', 'array.sbatch'), 'utf8');
    for (const line of ['--requeue', '--open-mode=append', '--signal=B:USR2@300', '--gres=gpu:1', '--time=10'])
      assert.match(script, new RegExp(`^#SBATCH ${line}$`, 'm'));
    await until(() => allCompleted('array'), 'the array to complete', 180_000);

    // At most two tasks at once, each pair on distinct GPUs; and two did run at once.
    const log = readSweepLog(sweepDir('array'));
    const spans = log.flatMap((e) => {
      if (e.type !== 'start') return [];
      const end = log.find((x) => x.type === 'exit' && x.variant === e.variant && x.time >= e.time)!.time;
      return [{ from: e.time, to: end, gpus: e.task!.gpus }];
    });
    const overlapping = spans.flatMap((a, i) =>
      spans
        .slice(i + 1)
        .filter((b) => a.from < b.to && b.from < a.to)
        .map((b) => [a, b]),
    );
    assert.ok(overlapping.length >= 1, 'two tasks ran at once');
    for (const [a, b] of overlapping) assert.notEqual(a.gpus, b.gpus, 'tasks at once on distinct CUDA_VISIBLE_DEVICES');
    for (const s of spans) {
      const at = (t: string) => spans.filter((o) => o.from <= t && t < o.to).length;
      assert.ok(at(s.from) <= 2, 'at most two at once');
    }

    const local = await p2p(['ablate', file, '--out', 'local', '--executor', 'local']);
    assert.equal(local.code, 0, local.err);
    const table = (dir: string) => readSweep(dir)!.rows.map((r) => rowCells(r).filter((_, i) => i !== 10 && i !== 11));
    assert.deepEqual(table(sweepDir('array')), table(join(work, 'local', 'array')), 'the same report rows');
  });

  it('trains the variant x seed grid as one array; its report over seeds is what the runs recorded', async () => {
    const file = config(
      'replicates',
      '  steps: 20\n  seeds: 3\n  base: false\n  dropoutLevels: [none, all]\n  slurm: { parallel: 2, time: "10" }\n',
    );
    const submit = await p2p(['ablate', file, '--out', 'runs']);
    assert.equal(submit.code, 0, submit.err);
    assert.match(submit.err, /array 0-5%2/);
    await until(() => allCompleted('replicates'), 'the array to complete', 240_000);
    const state = readSweep(sweepDir('replicates'))!;
    assert.deepEqual(
      state.plan.variants.map((v) => v.name),
      [3, 4, 5].map((s) => `dropout-none-seed${s}`).concat([3, 4, 5].map((s) => `dropout-all-seed${s}`)),
    );
    const verdicts = assertReportOverSeeds(state.dir, state.plan, 'dropout-none');
    assert.equal(verdicts.get('dropout-none'), 'reference');
    const status = await p2p(['ablate', file, '--out', 'runs', '--status']);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /^Over seeds:$/m);
    assert.match(status.out, /^dropout-all +3 .* [+−]\d\.\d{3} \[[+−]\d\.\d{3}, [+−]\d\.\d{3}\] /m);
    assert.match(status.out, /Noise floor \(seed-to-seed sd of test L1/);
  });

  it('comes back after preemption and resumes from its checkpoint, no step repeated or lost', async () => {
    const file = config(
      'preempt',
      '  steps: 400\n  base: false\n  variants: [{ name: long, train: { seed: 4 } }]\n  slurm: { time: "10" }\n',
    );
    assert.equal((await p2p(['ablate', file, '--out', 'runs'])).code, 0);
    await until(() => stepOf('preempt', 'long') >= 30 || undefined, 'step 30', 60_000);
    execFileSync('sbatch', ['-p', 'urgent', '--gres=gpu:2', '-o', '/dev/null', '--wrap', 'sleep 2']);
    await until(() => allCompleted('preempt'), 'the preempted task to complete', 180_000);
    const log = readSweepLog(sweepDir('preempt'));
    const [first, second] = starts(log, 'long');
    assert.ok(second, 'started twice');
    assert.deepEqual([first.mode, second.mode, second.task!.restart >= 1], ['new', 'resume', true]);
    const exits = log.filter((e) => e.type === 'exit').map((e) => (e as { reason: string }).reason);
    assert.deepEqual(exits.slice(0, 1), ['stopped']);
    assertStepsOnce(join(sweepDir('preempt'), 'long'), 400);
  });

  it('requeues itself at its time limit and finishes', async () => {
    // A 1-minute limit with the signal 30 s before it: SLURM sends it within the first half minute, so 2,400 steps
    // (about 50 s at the micro config's 50 steps a second) cannot finish in one allocation.
    const file = config(
      'limit',
      '  steps: 2400\n  base: false\n  variants: [{ name: long, train: { seed: 4 } }]\n  slurm: { time: "1", signal: 30, requeues: 20 }\n',
    );
    assert.equal((await p2p(['ablate', file, '--out', 'runs'])).code, 0);
    await until(() => allCompleted('limit'), 'the task to finish across requeues', 360_000);
    const log = readSweepLog(sweepDir('limit'));
    const requeues = log.filter((e) => e.type === 'requeue');
    assert.ok(requeues.length >= 1, 'it requeued itself');
    assert.equal(starts(log, 'long').length, requeues.length + 1);
    assertStepsOnce(join(sweepDir('limit'), 'long'), 2400);
  });

  it('cancels the array, keeps the run folders, and submits only unfinished variants again', async () => {
    const file = config(
      'cancel',
      '  steps: 150\n  progressiveSkips: shallowFirst\n  slurm: { parallel: 1, time: "10" }\n',
    );
    assert.equal((await p2p(['ablate', file, '--out', 'runs'])).code, 0);
    await until(() => stepOf('cancel', 'skips-1') >= 10 || undefined, 'the second variant at step 10', 120_000);
    const cancelled = await p2p(['ablate', file, '--out', 'runs', '--cancel']);
    assert.equal(cancelled.code, 0, cancelled.err);
    assert.match(cancelled.err, /cancelled \d+: skips-1, skips-none/);
    const dir = sweepDir('cancel');
    const plan = readSweep(dir)!.plan;
    const states = await until(
      async () => {
        const { states } = await schedulerStatus(dir, plan);
        return [...states.values()].every((s) => s.state === 'cancelled' || s.state === 'completed')
          ? states
          : undefined;
      },
      'scancel to take effect',
      60_000,
    );
    assert.deepEqual([states.get('skips-1')?.state, states.get('skips-none')?.state], ['cancelled', 'cancelled']);
    const runDir = join(dir, 'skips-1');
    await until(() => readSweep(dir)!.rows[1].status === 'stopped' || undefined, 'the stop to be written', 30_000);
    assert.ok(existsSync(join(runDir, 'checkpoints', 'latest.json')), 'its checkpoint is kept');
    assert.equal(existsSync(join(dir, 'skips-none')), false, 'the pending variant never started');
    const status = await p2p(['ablate', file, '--out', 'runs', '--status']);
    assert.match(status.out, /skips-1 .*cancelled at \d+\/150/);

    const again = await p2p(['ablate', file, '--out', 'runs']);
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /array 1-2%1/, 'only the unfinished variants');
    await until(() => allCompleted('cancel'), 'the sweep to complete', 180_000);
    const log = readSweepLog(dir);
    assert.deepEqual(
      starts(log, 'skips-1').map((s) => s.mode),
      ['new', 'resume'],
    );
    assert.equal(readSubmissions(dir).length, 2);
    assertStepsOnce(runDir, 150);
  });

  it('refuses a submission that cannot work, saying why', async () => {
    const file = config('refused', '  steps: 10\n  progressiveSkips: shallowFirst\n');
    const noSbatch = await p2p(['ablate', file, '--out', 'runs'], { PATH: '/nonexistent' });
    assert.equal(noSbatch.code, 2);
    assert.match(noSbatch.err, /cannot submit to SLURM: no `sbatch` on PATH/);
    const short = config(
      'short',
      '  steps: 10\n  progressiveSkips: shallowFirst\n  slurm: { time: "2", signal: 300 }\n',
    );
    const refused = await p2p(['ablate', short, '--out', 'runs']);
    assert.equal(refused.code, 2);
    assert.match(
      refused.err,
      /the checkpoint signal \(300 s before the limit\) must come before the time limit 2 \(120 s\)/,
    );
  });
});
