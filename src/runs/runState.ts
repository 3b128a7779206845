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
  let finished: Extract<TrainerEvent, { type: 'finished' }> | undefined;
  const steps: RunState['steps'] = [];
  let sessionStart: number | undefined;
  let sessionLast: number | undefined;
  const closeSession = () => {
    if (sessionStart !== undefined && sessionLast !== undefined)
      state.seconds += Math.max(0, sessionLast - sessionStart) / 1000;
  };
  for (const e of events) {
    const t = Date.parse((e as { time?: string }).time ?? '');
    switch (e.type) {
      case 'started':
        state.totalSteps = e.payload.totalSteps; // a resumed run restates it
        state.backend = e.payload.backend;
        state.adapter = e.payload.adapter;
        if (state.backends[state.backends.length - 1] !== e.payload.backend) state.backends.push(e.payload.backend);
        finished = undefined;
        state.error = undefined; // an earlier session's failure, which this one resumes from
        state.deviceError = undefined;
        closeSession();
        sessionStart = Number.isFinite(t) ? t : undefined;
        break;
      case 'step':
        steps.push({
          step: e.payload.step,
          gL1: e.payload.gL1,
          gGan: e.payload.gGan,
          dLoss: e.payload.dLoss,
          imgPerSec: e.payload.imgPerSec,
        });
        state.step = e.payload.step;
        break;
      case 'eval':
        state.evals.push(e.payload);
        break;
      case 'sample':
        state.samples.push({ step: e.payload.step, split: e.payload.split, path: e.payload.path });
        break;
      case 'error':
        state.error = e.payload.message;
        state.deviceError = e.payload.device;
        break;
      case 'finished':
        finished = e;
        break;
      default:
        break;
    }
    if (Number.isFinite(t)) sessionLast = t;
  }
  closeSession();
  state.steps = thin(steps, MAX_POINTS);
  state.status = finished ? finished.payload.reason : files.isLive(dir) ? 'running' : 'interrupted';
  const tests = state.evals.map((e) => e.test?.l1).filter((v): v is number => v !== undefined);
  state.bestTestL1 = tests.length ? Math.min(...tests) : undefined;
  state.lastEval = state.evals[state.evals.length - 1];
  const rates = steps
    .slice(1)
    .map((s) => s.imgPerSec)
    .sort((a, b) => a - b);
  state.medianImgPerSec = rates.length ? rates[Math.floor(rates.length / 2)] : undefined;
  const resolved = files.readText(`${dir}/resolved.json`);
  if (resolved) {
    try {
      state.config = (JSON.parse(resolved) as { config: ResolvedConfig }).config;
    } catch {
      // half written: shown without its config
    }
  }
  return state;
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
