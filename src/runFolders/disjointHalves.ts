// The disjoint halves of an ablation (`ablation.disjointHalves`): per variant, its two half runs' test outputs at
// their last evaluation (test-outputs.u8) and each output's distance to its own target there (test-images.csv),
// compared by core/memorisation.ts's halvesAgreement.

import path from 'node:path';
import { halvesAgreement, type HalvesAgreement } from '../core/memorisation';
import { diskFiles } from './diskFiles';
import { TEST_IMAGES_FILE } from './runDir';
import type { SweepState } from './sweepFolder';
import { readTestOutputs } from './testOutputs';

export interface HalvesRow extends HalvesAgreement {
  variant: string;
}

/** Each test image's distance to its target at `step` (test-images.csv's own_rms), by image index. */
function toTargetAt(runDir: string, step: number): number[] {
  const text = diskFiles().readText(path.join(runDir, TEST_IMAGES_FILE)) ?? '';
  const [header, ...lines] = text.split('\n');
  const column = header.split(',').indexOf('own_rms');
  const out: number[] = [];
  if (column < 0) return out;
  for (const line of lines) {
    const cells = line.split(',');
    if (Number(cells[0]) === step) out[Number(cells[1])] = Number(cells[column]);
  }
  return out;
}

/** The variants whose two half runs both completed with their outputs, in plan order. */
export function halvesOf(state: SweepState): HalvesRow[] {
  const byVariant = new Map<string, string[]>();
  for (const v of state.plan.variants) {
    if (!v.half || state.rows.find((r) => r.variant === v.name)?.status !== 'completed') continue;
    byVariant.set(v.half.of, [...(byVariant.get(v.half.of) ?? []), path.join(state.dir, v.dir)]);
  }
  return [...byVariant].flatMap(([variant, dirs]) => {
    if (dirs.length !== 2) return [];
    const [a, b] = dirs.map(readTestOutputs);
    if (!a || !b) return [];
    const agreement = halvesAgreement(a.images, b.images, toTargetAt(dirs[0], a.step), toTargetAt(dirs[1], b.step));
    return agreement ? [{ variant, ...agreement }] : [];
  });
}

export const HALVES_HEADER = ['Variant', 'Test images', 'Between the halves', 'To the target', 'Ratio'];

export const HALVES_NOTE =
  'Median RMS distance (on [-1, 1]) between the outputs of the two models trained on disjoint halves of the ' +
  'training set, for the same test input, and the median of their distance to its target. A ratio well below 1: ' +
  'the two models agree with each other more than with the target, as models that generalise do; near 1 or ' +
  'above: each follows its own half (memorisation). Kadkhodaie et al., ICLR 2024.';

export const halvesCells = (r: HalvesRow): string[] => [
  r.variant,
  String(r.images),
  r.between.toFixed(3),
  r.toTarget.toFixed(3),
  r.ratio.toFixed(2),
];
