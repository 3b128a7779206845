// A run folder read back for the runs panel: status, backend, params, curves, samples and config, from
// events.jsonl (plus resolved.json). Pure over its file reads, which are injected; a folder that is half
// written or deleted while read gives what could be read, never a throw.

import type { ResolvedConfig } from '../core/config';
import type { AdapterReport, EvalPayload, StartedPayload, StepPayload, TrainerEvent } from './contract';
import { parseJsonLines } from './jsonl';

export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

export interface SampleRef {
  step: number;
  split: 'train' | 'test';
  /** Path of the PNG inside the run folder. */
  path: string;
}

export interface RunState {
  id: string;
  dir: string;
  name: string;
  /** The sweep this run is a variant of. */
  sweep?: string;
  status: RunStatus;
  /** The backend of the newest session; a run resumed elsewhere lists the earlier ones in `backends`. */
  backend?: string;
  /** Every backend the run trained on, in order, each once per change (`['webgpu', 'wasm']`). */
  backends: string[];
  /** The GPU adapter of the newest session, on webgpu. */
  adapter?: AdapterReport;
  /** The tfjs-node package of the newest session and where it came from, on tensorflow(-gpu). */
  tensorflow?: string;
  params?: { generator: number; discriminator: number };
  step: number;
  totalSteps?: number;
  /** Step curves, thinned to at most MAX_POINTS points. */
  steps: Pick<StepPayload, 'step' | 'gL1' | 'gGan' | 'dLoss' | 'imgPerSec'>[];
  evals: EvalPayload[];
  samples: SampleRef[];
  bestTestL1?: number;
  lastEval?: EvalPayload;
  medianImgPerSec?: number;
  /** Seconds spent training, summed over the sessions of a resumed run. */
  seconds: number;
  error?: string;
  /** The error was the GPU device's: the run can go on from its checkpoint on another backend. */
  deviceError?: boolean;
  config?: ResolvedConfig;
}

export interface RunFiles {
  readText(path: string): string | undefined;
  /** Whether the trainer process that writes this run is alive (known to the host). */
  isLive(dir: string): boolean;
}

const MAX_POINTS = 500;

export function parseEvents(text: string): TrainerEvent[] {
  return parseJsonLines<TrainerEvent>(text);
}

function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const stride = xs.length / max;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(xs[Math.floor(i * stride)]);
  out[out.length - 1] = xs[xs.length - 1];
  return out;
}

export function readRun(dir: string, files: RunFiles): RunState | undefined {
  const text = files.readText(`${dir}/events.jsonl`);
  if (text === undefined) return undefined;
  const events = parseEvents(text);
  const id = dir.split(/[\\/]/).pop()!;
  const started = events.find((e): e is { type: 'started'; payload: StartedPayload } => e.type === 'started');
  const state: RunState = {
    id,
    dir,
    name: started?.payload.name ?? id,
    status: 'interrupted',
    backends: [],
    step: 0,
    steps: [],
    evals: [],
    samples: [],
    seconds: 0,
  };
  if (started) state.params = started.payload.params;
  const replay = new Replay(state);
  for (const e of events) replay.apply(e);
  replay.closeSession();
  state.status = replay.finished ? replay.finished.reason : files.isLive(dir) ? 'running' : 'interrupted';
  summarize(state, replay.steps);
  state.config = resolvedConfig(files.readText(`${dir}/resolved.json`));
  return state;
}

/** Events applied in order to a run's state; sessions (a start and its last event) add up to its training time. */
class Replay {
  finished: Extract<TrainerEvent, { type: 'finished' }>['payload'] | undefined;
  readonly steps: RunState['steps'] = [];
  private sessionStart: number | undefined;
  private sessionLast: number | undefined;

  constructor(private readonly state: RunState) {}

  apply(e: TrainerEvent): void {
    const t = Date.parse((e as { time?: string }).time ?? '');
    const state = this.state;
    if (e.type === 'started') this.start(e.payload, t);
    else if (e.type === 'step') {
      const { step, gL1, gGan, dLoss, imgPerSec } = e.payload;
      this.steps.push({ step, gL1, gGan, dLoss, imgPerSec });
      state.step = step;
    } else if (e.type === 'eval') state.evals.push(e.payload);
    else if (e.type === 'sample')
      state.samples.push({ step: e.payload.step, split: e.payload.split, path: e.payload.path });
    else if (e.type === 'error') {
      state.error = e.payload.message;
      state.deviceError = e.payload.device;
    } else if (e.type === 'finished') this.finished = e.payload;
    if (Number.isFinite(t)) this.sessionLast = t;
  }

  private start(p: StartedPayload, t: number): void {
    const state = this.state;
    state.totalSteps = p.totalSteps; // a resumed run restates it
    state.backend = p.backend;
    state.adapter = p.adapter;
    state.tensorflow = p.tensorflow;
    if (state.backends[state.backends.length - 1] !== p.backend) state.backends.push(p.backend);
    this.finished = undefined;
    state.error = undefined; // an earlier session's failure, which this one resumes from
    state.deviceError = undefined;
    this.closeSession();
    this.sessionStart = Number.isFinite(t) ? t : undefined;
  }

  closeSession(): void {
    if (this.sessionStart !== undefined && this.sessionLast !== undefined)
      this.state.seconds += Math.max(0, this.sessionLast - this.sessionStart) / 1000;
  }
}

/** Curves thinned for the panel, the best test L1, the last evaluation and the median speed. */
function summarize(state: RunState, steps: RunState['steps']): void {
  state.steps = thin(steps, MAX_POINTS);
  const tests = state.evals.map((e) => e.test?.l1).filter((v): v is number => v !== undefined);
  state.bestTestL1 = tests.length ? Math.min(...tests) : undefined;
  state.lastEval = state.evals[state.evals.length - 1];
  const rates = steps
    .slice(1)
    .map((s) => s.imgPerSec)
    .sort((a, b) => a - b);
  state.medianImgPerSec = rates.length ? rates[Math.floor(rates.length / 2)] : undefined;
}

function resolvedConfig(text: string | undefined): ResolvedConfig | undefined {
  if (!text) return undefined;
  try {
    return (JSON.parse(text) as { config: ResolvedConfig }).config;
  } catch {
    return undefined; // half written: shown without its config
  }
}

export interface ConfigChange {
  path: string;
  base: unknown;
  other: unknown;
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
