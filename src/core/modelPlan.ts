// A resolved config with its two layer graphs: what a run trains, a sweep's base is, the steppers step and the
// compiled WebGPU step is built from. One name for the pair, and the one rule for a config's default name.

import type { ResolvedConfig } from './config';
import type { ModelGraph } from './graph';

export interface ModelPlan {
  config: ResolvedConfig;
  generator: ModelGraph;
  discriminator: ModelGraph;
}

/** A config's default name: its file's name without `.p2p.yaml` (`/x/seed.p2p.yaml` -> `seed`), else `config`. */
export function configNameOf(file: string): string {
  const last = file.split(/[\\/]/).pop() ?? '';
  return last.replace(/\.p2p\.ya?ml$/, '') || 'config';
}
