// What a resumed run repairs before it writes again, each repair said as a warning: a torn last line of
// events.jsonl (a full disk, a crash mid-write) is cut off, a missing or damaged metrics.csv is rebuilt from the
// evaluations in events.jsonl, and temporary files of writes that never finished are removed. Only the holder of
// the run's lock calls it.

import { existsSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINTS } from './checkpoints';
import type { EvalPayload } from '../protocol/trainer';
import { parseJsonLines } from './jsonl';
import { writeAtomic } from './atomicWrite';
import { METRICS_FILE, METRICS_HEADER, metricsRow } from './runDir';

/** Repairs the run folder `dir`; returns what it did, one sentence each. */
export function repairRun(dir: string): string[] {
  return [cutTornLine(join(dir, 'events.jsonl')), rebuildMetrics(dir), ...removeTemporaries(dir)].filter(
    (s): s is string => s !== undefined,
  );
}

function cutTornLine(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  if (!text || text.endsWith('\n')) return undefined;
  const end = text.lastIndexOf('\n') + 1;
  truncateSync(file, Buffer.byteLength(text.slice(0, end)));
  return `cut off a torn last line of ${file} (${Buffer.byteLength(text.slice(end))} bytes of an unfinished write)`;
}

/** Why metrics.csv cannot be trusted, or undefined when it can. */
function metricsProblem(file: string): string | undefined {
  if (!existsSync(file)) return 'missing';
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[0] !== METRICS_HEADER) return 'without its header';
  const columns = METRICS_HEADER.split(',').length;
  const bad = lines
    .slice(1)
    .findIndex((l) => l !== '' && (l.split(',').length !== columns || !/^\d+$/.test(l.split(',')[0])));
  if (bad >= 0) return `damaged at line ${bad + 2}`;
  if (lines.at(-1) !== '') return 'cut short in its last row';
  return undefined;
}

function rebuildMetrics(dir: string): string | undefined {
  const file = join(dir, METRICS_FILE);
  const problem = metricsProblem(file);
  if (!problem) return undefined;
  const events = parseJsonLines<{ type: string; payload: EvalPayload }>(
    existsSync(join(dir, 'events.jsonl')) ? readFileSync(join(dir, 'events.jsonl'), 'utf8') : '',
  );
  const byStep = new Map<number, EvalPayload>();
  for (const e of events) if (e.type === 'eval') byStep.set(e.payload.step, e.payload);
  const rows = [...byStep.values()].sort((a, b) => a.step - b.step).map(metricsRow);
  writeAtomic(file, [METRICS_HEADER, ...rows].join('\n') + '\n');
  return `${file} was ${problem}: rebuilt from events.jsonl (${rows.length} evaluations)`;
}

/** Temporary files and folders (`*.tmp-<pid>`) of writes that never finished. */
function removeTemporaries(dir: string): string[] {
  const found = [dir, join(dir, 'samples'), join(dir, CHECKPOINTS)].flatMap((d) =>
    existsSync(d)
      ? readdirSync(d)
          .filter((n) => /\.tmp-\d+$/.test(n))
          .map((n) => join(d, n))
      : [],
  );
  for (const f of found) rmSync(f, { recursive: true, force: true });
  return found.length ? [`removed ${found.length} temporary file(s) of unfinished writes: ${found.join(', ')}`] : [];
}
