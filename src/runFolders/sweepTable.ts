// The ablation table's columns and cells, shared by report.md/html, `p2p ablate` and the runs panel (pure: it
// runs in the webview too).

import { clock, count, si } from '../core/units';
import type { SweepRow } from '../protocol/runs';

const fixed = (v: number | undefined, digits: number) =>
  v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
export const signed = (v: number | undefined, digits: number) =>
  v === undefined || !Number.isFinite(v) ? '—' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;

export const TABLE_HEADER = [
  'Variant',
  'Skips',
  'Dropout',
  'Params',
  'MACs',
  'Train L1',
  'Train SSIM',
  'Test L1',
  'Test SSIM',
  'Gap (L1)',
  'img/s',
  'Time',
  'Status',
];

/** The Status cell: the run's state, or the scheduler's while it holds the variant, with the step it is at. */
export function statusCell(r: SweepRow): string {
  const word = statusWord(r);
  const at = `at ${count(r.step)}${r.totalSteps ? `/${count(r.totalSteps)}` : ''}`;
  const reason = r.scheduler?.reason ? ` (${r.scheduler.reason})` : '';
  if (word === 'completed' && r.status === 'completed') return `${count(r.step)} steps`;
  if (r.step === 0 && (r.status === 'pending' || word === 'pending' || word === 'requeued')) return `${word}${reason}`;
  return `${word} ${at}${reason}`;
}

/** The state a row shows: the scheduler's while it queues or runs the variant (or cancelled it), else the run's. */
export function statusWord(r: SweepRow): string {
  const s = r.scheduler?.state;
  if (!s || r.status === 'completed') return r.status;
  if (s === 'completed' || s === 'failed') return r.status === 'pending' ? s : r.status; // the run folder says more
  return s;
}

/** The table's cells, formatted; the same in the report and the panel. */
export function rowCells(r: SweepRow): string[] {
  const status = statusCell(r);
  return [
    r.variant,
    r.skips,
    r.dropout,
    count(r.params),
    si(r.macs),
    fixed(r.trainL1, 3),
    fixed(r.trainSsim, 3),
    fixed(r.testL1, 3),
    fixed(r.testSsim, 3),
    signed(r.gap, 3),
    r.imgPerSec === undefined ? '—' : r.imgPerSec.toFixed(1),
    r.seconds ? clock(r.seconds) : '—',
    status,
  ];
}
