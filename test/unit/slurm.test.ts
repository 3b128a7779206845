// The SLURM executor's pure parts: settings and their diagnostics, time limits, array specs, the batch script,
// refusals, squeue's states as variant states and the table's Status cell.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import {
  arraySpec,
  parseSqueueLine,
  sbatchScript,
  SLURM_DEFAULTS,
  slurmTimeSeconds,
  submitProblem,
} from '../../src/core/slurm';
import type { SweepRow } from '../../src/protocol/runs';
import { statusCell, statusWord } from '../../src/runFolders/sweepTable';

const tiny = readFileSync(join(__dirname, '../../examples/tiny.p2p.yaml'), 'utf8');

describe('SLURM sweeps, without a scheduler', () => {
  it('reads SLURM time limits in all their forms', () => {
    const cases: [string, number | undefined][] = [
      ['30', 1800],
      ['30:15', 1815],
      ['4:00:00', 14400],
      ['1-12', 129600],
      ['1-12:30', 131400],
      ['2-00:00:10', 172810],
      ['4h', undefined],
      ['1:2:3:4', undefined],
      ['', undefined],
    ];
    for (const [text, seconds] of cases) assert.equal(slurmTimeSeconds(text), seconds, text);
  });

  it('writes array specs as ranges with the parallelism', () => {
    assert.equal(arraySpec([0, 1, 2]), '0-2');
    assert.equal(arraySpec([5, 0, 2, 1, 7, 8], 2), '0-2,5,7-8%2');
    assert.equal(arraySpec([3]), '3');
  });

  it('takes executor and slurm settings from the config, with defaults', () => {
    const text =
      `${tiny}ablation:\n  progressiveSkips: shallowFirst\n  parallel: 3\n  executor: slurm\n` +
      '  slurm: { partition: gpu, time: "4:00:00", sbatch: ["--account=lab"] }\n';
    const a = analyze(text, 'tiny');
    assert.deepEqual(a.diagnostics, []);
    assert.equal(a.sweep!.executor, 'slurm');
    assert.deepEqual(a.sweep!.slurm, {
      ...SLURM_DEFAULTS,
      partition: 'gpu',
      time: '4:00:00',
      parallel: 3,
      sbatch: ['--account=lab'],
    });
    assert.equal(analyze(`${tiny}ablation:\n  progressiveSkips: shallowFirst\n`, 'tiny').sweep!.executor, 'local');
  });

  it('flags a time limit SLURM would refuse, and a signal not before the limit, where they are written', () => {
    const bad = analyze(`${tiny}ablation:\n  progressiveSkips: deepFirst\n  slurm: { time: 4h }\n`, 'tiny');
    const [time] = bad.diagnostics;
    assert.equal(time.code, 'slurm-time');
    assert.match(time.message, /`4h` is not a SLURM time limit/);
    const line = `${tiny}ablation:\n  progressiveSkips: deepFirst\n`.split('\n').length; // the slurm line, 1-based
    assert.deepEqual([time.range.start.line, time.range.start.character], [line - 1, 17]);
    const late = analyze(
      `${tiny}ablation:\n  progressiveSkips: deepFirst\n  slurm: { time: "5", signal: 300 }\n`,
      'tiny',
    );
    assert.equal(late.diagnostics[0].code, 'slurm-signal');
    assert.match(late.diagnostics[0].message, /300 s before the limit\) must come before the time limit 5 \(300 s\)/);
    assert.equal(late.diagnostics[0].range.start.character, 30, 'at the signal value');
  });

  it('writes a batch script that requeues, appends to its log and asks for USR2 before the limit', () => {
    const script = sbatchScript({
      sweepName: 'skips ablation',
      sweepDir: '/shared/runs/skips',
      settings: {
        ...SLURM_DEFAULTS,
        partition: 'gpu',
        time: '4:00:00',
        sbatch: ['--mem=16G', '#SBATCH --account=lab'],
      },
      command: ['/usr/bin/node', '/opt/p2p/dist/cli.js', 'sweep-task', '/shared/runs/skips', "it's"],
    });
    const directives = script.split('\n').filter((l) => l.startsWith('#SBATCH'));
    assert.deepEqual(directives, [
      '#SBATCH --job-name=p2p-skips_ablation',
      '#SBATCH --output=/shared/runs/skips/slurm/%A_%a.out',
      '#SBATCH --open-mode=append',
      '#SBATCH --requeue',
      '#SBATCH --signal=B:USR2@300',
      '#SBATCH --gres=gpu:1',
      '#SBATCH --partition=gpu',
      '#SBATCH --time=4:00:00',
      '#SBATCH --mem=16G',
      '#SBATCH --account=lab',
    ]);
    assert.match(
      script,
      /^exec \/usr\/bin\/node \/opt\/p2p\/dist\/cli.js sweep-task \/shared\/runs\/skips 'it'\\''s'$/m,
    );
  });

  it("exports the host's tfjs-node folder to the tasks, quoted, before the task starts", () => {
    const script = sbatchScript({
      sweepName: 'skips',
      sweepDir: '/shared/runs/skips',
      settings: SLURM_DEFAULTS,
      command: ['/usr/bin/node', 'cli.js', 'sweep-task', '/shared/runs/skips'],
      exports: [['P2P_TENSORFLOW_PATH', '/shared/home/me/tf node']],
    });
    const tail = script.trimEnd().split('\n').slice(-2);
    assert.deepEqual(tail, [
      "export P2P_TENSORFLOW_PATH='/shared/home/me/tf node'",
      'exec /usr/bin/node cli.js sweep-task /shared/runs/skips',
    ]);
  });

  it('refuses submissions that cannot work, with the reason', () => {
    const facts = { sbatch: true, settings: SLURM_DEFAULTS, nodes: 1, filesystem: 'ext2/ext3', sweepDir: '/d' };
    assert.equal(submitProblem(facts), undefined, 'one node: a local folder is shared with itself');
    assert.match(submitProblem({ ...facts, sbatch: false })!, /no `sbatch` on PATH/);
    assert.match(
      submitProblem({ ...facts, settings: { ...SLURM_DEFAULTS, time: '5' } })!,
      /not shorter than the limit/,
    );
    assert.match(
      submitProblem({ ...facts, nodes: 4 })!,
      /\/d is on a local filesystem \(ext2\/ext3\) but the partition has 4 nodes/,
    );
    assert.equal(submitProblem({ ...facts, nodes: 4, filesystem: 'nfs' }), undefined);
  });

  it("reads squeue's states as variant states: a task pending after it ran is requeued", () => {
    const ran = new Set(['12_1']);
    const parse = (line: string) => parseSqueueLine(line, (job) => ran.has(job));
    assert.deepEqual(parse('12|0|PENDING|Priority'), {
      job: '12',
      index: 0,
      state: { state: 'pending', job: '12_0', reason: 'Priority' },
    });
    assert.deepEqual(parse('12|1|PENDING|BeginTime')!.state, { state: 'requeued', job: '12_1', reason: 'BeginTime' });
    assert.deepEqual(parse('12|2|RUNNING|None')!.state, { state: 'running', job: '12_2' });
    assert.equal(parse('12|3|TIMEOUT|TimeLimit')!.state.state, 'failed');
    assert.equal(parse('12|4|CANCELLED by 0|None')!.state.state, 'cancelled');
    assert.equal(parse('12|5|PREEMPTED|None')!.state.state, 'requeued');
    assert.equal(parse('4|N/A|RUNNING|None'), undefined, 'not an array task');
  });

  it("shows the scheduler's state in the Status cell while it holds the variant", () => {
    const row = { status: 'stopped', step: 40, totalSteps: 100 } as SweepRow;
    assert.equal(statusCell(row), 'stopped at 40/100');
    assert.equal(
      statusCell({ ...row, scheduler: { state: 'requeued', job: '1_0', reason: 'BeginTime' } }),
      'requeued at 40/100 (BeginTime)',
    );
    assert.equal(
      statusCell({
        ...row,
        status: 'pending',
        step: 0,
        scheduler: { state: 'pending', job: '1_1', reason: 'JobArrayTaskLimit' },
      }),
      'pending (JobArrayTaskLimit)',
    );
    assert.equal(statusCell({ ...row, scheduler: { state: 'running', job: '1_0' } }), 'running at 40/100');
    assert.equal(statusCell({ ...row, scheduler: { state: 'cancelled', job: '1' } }), 'cancelled at 40/100');
    const never = { ...row, status: 'pending', step: 0 } as const;
    assert.equal(statusCell({ ...never, scheduler: { state: 'cancelled', job: '1' } }), 'cancelled', 'never started');
    assert.equal(
      statusWord({ ...row, status: 'completed', step: 100, scheduler: { state: 'cancelled', job: '1' } }),
      'completed',
    );
    assert.equal(statusWord({ ...row, status: 'failed', scheduler: { state: 'completed', job: '1_0' } }), 'failed');
  });
});
