// Webview <-> extension host messages of the runs panel, as discriminated unions.

import type { ConfigChange, RunState } from '../src/runFolders/runState';
import type { SweepRow } from '../src/runFolders/sweepFolder';

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
  samples: { step: number; split: 'train' | 'test'; uri: string }[];
  /** Differences to the chosen base run's config. */
  diff: ConfigChange[];
  macs?: number;
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
}

export type HostMessage =
  | {
      type: 'runs';
      payload: {
        runs: PanelRun[];
        sweeps: PanelSweep[];
        root: string;
        /** A tab the host asks to show. */ tab?: PanelViewState['tab'];
      };
    }
  | { type: 'select'; payload: { ids: string[] } };

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
  | { type: 'tabShown'; payload: { tab: PanelViewState['tab'] } };

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
      return typeof (p as { id?: unknown }).id === 'string';
    case 'tabShown':
      return ['runs', 'compare', 'ablations'].includes((p as { tab?: unknown }).tab as string);
    default:
      return false;
  }
}
