// `p2p translate RUN... --image FILE|DIR [--step N] [--out DIR] [--backend B] [--neighbours]`: images of any size and format through
// each run's input transform and generator (in a trainer process, on the best backend), written as PNGs to
// `translations/<time>/` (or DIR): per image, the original, and each run's transformed input and output; with
// `--neighbours`, also each output's nearest training target in that run's training set.

import { join } from 'node:path';
import type { Backend } from '../core/config';
import { runName } from '../runFolders/runDir';
import { translateInProcess } from '../host/trainerProcess';

const USAGE =
  'usage: p2p translate RUN... --image FILE|DIR [--image ...] [--step N] [--out DIR] [--backend B] [--neighbours]\n';

export async function runTranslateCli(
  argv: readonly string[],
  trainerPath = join(__dirname, 'trainer.js'),
): Promise<number> {
  const runs: string[] = [];
  const images: string[] = [];
  let step: number | undefined;
  let out: string | undefined;
  let backend: Backend | undefined;
  let neighbours = false;
  for (let i = 0; i < argv.length; i++) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (!a.startsWith('--')) {
      runs.push(a);
      continue;
    }
    if (a === '--neighbours') {
      neighbours = true;
      continue;
    }
    i++;
    if (a === '--image' && v) images.push(v);
    else if (a === '--step' && Number.isInteger(Number(v)) && Number(v) >= 0) step = Number(v);
    else if (a === '--out' && v) out = v;
    else if (a === '--backend' && v) backend = v as Backend;
    else return usage(`unexpected ${a} ${v ?? ''}`.trim());
  }
  if (!runs.length || !images.length) return usage(runs.length ? 'expected --image FILE|DIR' : 'expected RUN');
  const folder = out ?? join('translations', runName('translate', new Date()));
  try {
    const t = await translateInProcess(trainerPath, { runs, images, out: folder, step, backend, neighbours });
    for (const image of t.images) {
      process.stdout.write(`${image.name}\n  original: ${image.original}\n`);
      for (const o of image.outputs) {
        process.stdout.write(`  ${o.label} @${o.step} (${o.mode}): ${o.output}\n`);
        const n = o.neighbour;
        if (n)
          process.stdout.write(
            `    nearest training target #${n.index} ${n.name} (RMS ${n.rms.toFixed(3)}): ${n.image}\n`,
          );
      }
    }
    process.stderr.write(`translations: ${t.out}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`p2p translate: ${(e as Error).message}\n`);
    return 1;
  }
}

function usage(why: string): number {
  process.stderr.write(`p2p translate: ${why}\n${USAGE}`);
  return 2;
}
