// `p2p export RUN [--step N] --format onnx|pytorch|tfjs [--out DIR]`: the run's generator at a checkpoint, as ONNX,
// as a PyTorch module with its weights or as a tfjs layers model, with its input transform (`transform.json`).

import { exportRun } from '../host/export';
import { EXPORT_FORMATS, type ExportFormat } from '../protocol/panel';

const USAGE = 'usage: p2p export RUN [--step N] --format onnx|pytorch|tfjs [--out DIR]\n';

export function runExport(argv: readonly string[]): number {
  let run: string | undefined;
  let format: ExportFormat | undefined;
  let step: number | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (!a.startsWith('--')) {
      if (run) return usage(`one RUN, found ${run} and ${a}`);
      run = a;
      continue;
    }
    i++;
    if (a === '--format' && (EXPORT_FORMATS as readonly string[]).includes(v)) format = v as ExportFormat;
    else if (a === '--step' && Number.isInteger(Number(v)) && Number(v) >= 0) step = Number(v);
    else if (a === '--out' && v) out = v;
    else return usage(`unexpected ${a} ${v ?? ''}`.trim());
  }
  if (!run || !format) return usage(run ? 'expected --format onnx|pytorch|tfjs' : 'expected RUN');
  try {
    for (const file of exportRun(run, { format, step, out })) process.stdout.write(`${file}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`p2p export: ${(e as Error).message}\n`);
    return 1;
  }
}

function usage(why: string): number {
  process.stderr.write(`p2p export: ${why}\n${USAGE}`);
  return 2;
}
