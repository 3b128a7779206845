// A run folder read back for the runs panel: status, backend, params, curves, samples and config, from
// events.jsonl (plus resolved.json). Pure over its file reads, which are injected; a folder that is half
// written or deleted while read gives what could be read, never a throw.

import type { ResolvedConfig } from '../core/config';
import type { ConfigChange, RunState } from '../protocol/runs';
import type { StartedPayload, TrainerEvent } from '../protocol/trainer';
import { parseJsonLines } from './jsonl';

export interface RunFiles {
  readText(path: string): string | undefined;
  /** Whether the trainer process that writes this run is alive (known to the host). */
  isLive(dir: string): boolean;
}

const MAX_POINTS = 500;
const MAX_WARNINGS = 20;

export function parseEvents(text: string): TrainerEvent[] {
  return parseJsonLines<TrainerEvent>(text);
}

/**
 * A step curve thinned as it grows: every `stride`-th step is kept, and when MAX_POINTS are kept every other
 * one goes and the stride doubles. So the curve costs the same however long the run, and its last step is kept.
 */
class ThinnedSteps {
  private kept: RunState['steps'] = [];
  private stride = 1;
  private seen = 0;
  private last: RunState['steps'][number] | undefined;

  push(s: RunState['steps'][number]): void {
    this.last = s;
    if (this.seen++ % this.stride) return;
    this.kept.push(s);
    if (this.kept.length < MAX_POINTS) return;
    this.kept = this.kept.filter((_, i) => i % 2 === 0);
    this.stride *= 2;
  }

  /** The kept points and the newest step. */
  points(): RunState['steps'] {
    const last = this.last;
    return last && this.kept.at(-1) !== last ? [...this.kept, last] : [...this.kept];
  }
}

/** A run's events applied in order, from the start of events.jsonl or fed as they are appended. */
export class RunReplay {
  readonly state: RunState;
  private readonly curve = new ThinnedSteps();
  private finished: Extract<TrainerEvent, { type: 'finished' }>['payload'] | undefined;
  private sessionStart: number | undefined;
  private sessionLast: number | undefined;
  /** Training seconds of the sessions before the current one. */
  private closedSeconds = 0;

  constructor(readonly dir: string) {
    const id = dir.split(/[\\/]/).pop()!;
    this.state = {
      id,
      dir,
      name: id,
      status: 'interrupted',
      backends: [],
      step: 0,
      steps: [],
      evals: [],
      samples: [],
      seconds: 0,
      warnings: [],
    };
  }

  feed(events: readonly TrainerEvent[]): void {
    for (const e of events) this.apply(e);
  }

  /** The run as it stands: a copy, with its status (running while `isLive`) and config from resolved.json. */
  snapshot(files: RunFiles): RunState {
    const { evals, samples, warnings } = this.state;
    const state: RunState = { ...this.state, evals: [...evals], samples: [...samples], warnings: [...warnings] };
    state.status = this.finished ? this.finished.reason : files.isLive(this.dir) ? 'running' : 'interrupted';
    state.steps = this.curve.points();
    const rates = state.steps
      .slice(1)
      .map((s) => s.imgPerSec)
      .sort((a, b) => a - b);
    state.medianImgPerSec = rates.length ? rates[Math.floor(rates.length / 2)] : undefined;
    state.lastEval = state.evals[state.evals.length - 1];
    state.seconds = this.closedSeconds + this.sessionSeconds();
    state.config = resolvedConfig(files.readText(`${this.dir}/resolved.json`));
    return state;
  }

  private apply(e: TrainerEvent): void {
    const t = Date.parse((e as { time?: string }).time ?? '');
    const state = this.state;
    if (e.type === 'started') this.start(e.payload, t);
    else if (e.type === 'step') {
      const { step, gL1, gGan, dLoss, imgPerSec } = e.payload;
      this.curve.push({ step, gL1, gGan, dLoss, imgPerSec });
      state.step = step;
    } else if (e.type === 'eval') {
      state.evals.push(e.payload);
      const l1 = e.payload.test?.l1;
      if (l1 !== undefined && !(l1 >= (state.bestTestL1 ?? Infinity))) {
        state.bestTestL1 = l1;
        state.bestStep = e.payload.step;
      }
    } else if (e.type === 'sample') {
      const { step, split, path, neighbours } = e.payload;
      state.samples.push({ step, split, path, ...(neighbours ? { neighbours } : {}) });
    } else if (e.type === 'error') {
      state.error = e.payload.message;
      state.deviceError = e.payload.device;
    } else if (e.type === 'warning') state.warnings = [...state.warnings.slice(-(MAX_WARNINGS - 1)), e.payload.message];
    else if (e.type === 'finished') this.finished = e.payload;
    if (Number.isFinite(t)) this.sessionLast = t;
  }

  private start(p: StartedPayload, t: number): void {
    const state = this.state;
    if (!state.params) state.params = p.params;
    if (state.name === state.id) state.name = p.name;
    state.totalSteps = p.totalSteps; // a resumed run restates it
    state.backend = p.backend;
    state.adapter = p.adapter;
    state.tensorflow = p.tensorflow;
    if (state.backends[state.backends.length - 1] !== p.backend) state.backends.push(p.backend);
    this.finished = undefined;
    state.error = undefined; // an earlier session's failure, which this one resumes from
    state.deviceError = undefined;
    this.closedSeconds += this.sessionSeconds();
    this.sessionStart = Number.isFinite(t) ? t : undefined;
    this.sessionLast = undefined;
  }

  private sessionSeconds(): number {
    if (this.sessionStart === undefined || this.sessionLast === undefined) return 0;
    return Math.max(0, this.sessionLast - this.sessionStart) / 1000;
  }
}

export function readRun(dir: string, files: RunFiles): RunState | undefined {
  const text = files.readText(`${dir}/events.jsonl`);
  if (text === undefined) return undefined;
  const replay = new RunReplay(dir);
  replay.feed(parseEvents(text));
  return replay.snapshot(files);
}

function resolvedConfig(text: string | undefined): ResolvedConfig | undefined {
  if (!text) return undefined;
  try {
    return (JSON.parse(text) as { config: ResolvedConfig }).config;
  } catch {
    return undefined; // half written: shown without its config
  }
}

/** Leaf-by-leaf differences between two resolved configs (`generator.decoder[2].skip: true -> false`). */
export function configDiff(base: unknown, other: unknown, path = ''): ConfigChange[] {
  if (base === other) return [];
  const isObj = (v: unknown) => v !== null && typeof v === 'object';
  if (!isObj(base) || !isObj(other) || Array.isArray(base) !== Array.isArray(other)) return [{ path, base, other }];
  const keys = [...new Set([...Object.keys(base as object), ...Object.keys(other as object)])];
  return keys.flatMap((k) => {
    const sub = Array.isArray(base) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
    return configDiff((base as Record<string, unknown>)[k], (other as Record<string, unknown>)[k], sub);
  });
}
