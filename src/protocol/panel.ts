// Webview <-> extension host messages of the runs panel, as discriminated unions.

import type { ConfigChange, RunState, SweepRow } from './runs';
import type { NeighbourRecord, Probe, SampleSplit } from './trainer';

/** What a run's generator is exported as (`p2p export --format`, the panel's Export buttons). */
export const EXPORT_FORMATS = ['onnx', 'pytorch', 'tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** An ablation sweep: its table rows, and the panel id of each variant's run (absent until it starts). */
export interface PanelSweep {
  id: string;
  name: string;
  rows: SweepRow[];
  runIds: (string | undefined)[];
  steps?: number;
  data: { train: string; test?: string; transform: string };
  seed: number;
  executor: 'local' | 'slurm';
  /** On SLURM: the sweep's array jobs, how many variants are queued or running, and why squeue could not be read. */
  scheduler?: { jobs: string[]; active: number; error?: string };
}

/** A run as the panel receives it: sample paths already turned into webview URIs. */
export interface PanelRun extends Omit<RunState, 'samples' | 'config'> {
  samples: { step: number; split: SampleSplit; uri: string; neighbours?: NeighbourRecord[] }[];
  /** Differences to the chosen base run's config. */
  diff: ConfigChange[];
  macs?: number;
  /** Whether the run keeps a checkpoint: what a probe (and an export) loads. */
  checkpointed: boolean;
  /** The run's skip probe (probes/<run>/probe.json beside it), its figures as webview URIs. */
  probe?: PanelProbe;
  /** A probe of this run is running in a trainer process. */
  probing?: boolean;
  /** Why the last probe of this run from the panel failed. */
  probeError?: string;
}

/** A skip probe as the panel shows it: probe.json less the run's path, its figures as webview URIs. */
export type PanelProbe = Omit<Probe, 'run'>;

/** A translation as the panel shows it: per image, the original and every run's transformed input and output. */
export interface PanelTranslation {
  images: {
    name: string;
    original: string;
    outputs: { label: string; step: number; mode: 'training' | 'inference'; input: string; output: string }[];
  }[];
}

/** How two outputs of one image are compared: B over A split by a slider, flickering, or their difference. */
export interface AbState {
  a: number;
  b: number;
  mode: 'slider' | 'flicker' | 'difference';
  /** The slider's position, 0-100: B shows right of it. */
  split: number;
}

/** What the panel keeps with setState, so a hidden or restored panel comes back as it was. */
export interface PanelViewState {
  selected: string[];
  base?: string;
  split: 'train' | 'test';
  /** Step shown for samples; undefined follows the newest. */
  step?: number;
  tab: 'runs' | 'compare' | 'ablations';
  /** The curves' smoothing weight in [0, 1), log scale, and the metric Compare overlays. */
  smoothing?: number;
  log?: boolean;
  metric?: string;
  translation?: PanelTranslation;
  ab?: AbState;
  /** Per sweep (by id), the seed whose samples the Ablations tab shows and "Compare variants" selects. */
  seeds?: Record<string, number>;
  /** The Ablations tab draws each seed's curve beside its variant's mean. */
  eachSeed?: boolean;
  /** What Compare shows of each run: its sample figure, or that figure over its columns' nearest training targets. */
  compareView?: 'samples' | 'neighbours';
  /** Which images the skip probe's dose-response charts measure L1 on. */
  probeSplit?: 'train' | 'test';
}

export type HostMessage =
  | {
      type: 'runs';
      payload: {
        /** The runs that changed since the last message (all of them in the first). */
        runs: PanelRun[];
        /** Every run's id, in the order shown, when it changed: the webview keeps the runs it was sent before. */
        order?: string[];
        /** Every sweep, when any changed since the last message (in the first always). */
        sweeps?: PanelSweep[];
        root: string;
        /** A tab the host asks to show. */ tab?: PanelViewState['tab'];
        /** A run that just started: selected, its newest samples shown. */ select?: string;
      };
    }
  | { type: 'select'; payload: { ids: string[] } }
  | { type: 'translation'; payload: PanelTranslation }
  | { type: 'translateFailed'; payload: { message: string } }
  | { type: 'abDifference'; payload: { image: number; a: number; b: number; uri: string; max: number } };

export type WebviewMessage =
  | { type: 'ready'; payload: Record<string, never> }
  | { type: 'setBase'; payload: { id: string } }
  | { type: 'stop'; payload: Record<string, never> }
  | {
      type: 'resume';
      payload: { id: string; /** Another backend to go on with (after a GPU device failure). */ backend?: 'wasm' };
    }
  | { type: 'openReport'; payload: { id: string } }
  | { type: 'cancelAblation'; payload: { id: string } }
  | { type: 'tabShown'; payload: { tab: PanelViewState['tab'] } }
  | {
      type: 'translate';
      /** Panel run ids; an image dropped on the panel, or none to pick files. */
      payload: { ids: string[]; image?: { name: string; base64: string } };
    }
  | { type: 'abDifference'; payload: { image: number; a: number; b: number } }
  | { type: 'export'; payload: { id: string; format: ExportFormat } }
  /** Probe the skips of a run (`p2p probe`): each dosed from 0 to 1. */
  | { type: 'probe'; payload: { id: string } };

export function isWebviewMessage(m: unknown): m is WebviewMessage {
  if (!m || typeof m !== 'object') return false;
  const t = (m as { type?: unknown }).type;
  const p = (m as { payload?: unknown }).payload;
  if (!p || typeof p !== 'object') return false;
  switch (t) {
    case 'ready':
    case 'stop':
      return true;
    case 'resume':
      return (
        typeof (p as { id?: unknown }).id === 'string' &&
        [undefined, 'wasm'].includes((p as { backend?: unknown }).backend as string)
      );
    case 'setBase':
    case 'openReport':
    case 'cancelAblation':
    case 'probe':
      return typeof (p as { id?: unknown }).id === 'string';
    case 'translate': {
      const { ids, image } = p as { ids?: unknown; image?: { name?: unknown; base64?: unknown } };
      const okImage = image === undefined || (typeof image.name === 'string' && typeof image.base64 === 'string');
      return Array.isArray(ids) && ids.every((i) => typeof i === 'string') && okImage;
    }
    case 'export':
      return (
        typeof (p as { id?: unknown }).id === 'string' &&
        (EXPORT_FORMATS as readonly string[]).includes((p as { format?: unknown }).format as string)
      );
    case 'abDifference':
      return ['image', 'a', 'b'].every((k) => Number.isInteger((p as Record<string, unknown>)[k]));
    case 'tabShown':
      return ['runs', 'compare', 'ablations'].includes((p as { tab?: unknown }).tab as string);
    default:
      return false;
  }
}
