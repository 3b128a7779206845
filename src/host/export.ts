// `p2p export`: a run's generator at one of its checkpoints, as ONNX (src/model/onnx.ts), as a PyTorch module with
// its weights (src/model/pytorch.ts) or as the tfjs layers model the checkpoint already holds, with the input
// transform written beside it (`transform.json`): what size, channels,
// edge detector and value range the generator expects. Reads the checkpoint's files only: no tfjs is loaded.

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { analyze } from '../core/analysis';
import type { ResolvedConfig } from '../core/config';
import type { ModelGraph } from '../core/graph';
import type { ExportFormat } from '../protocol/panel';
import { generatorOnnx } from '../model/onnx';
import { generatorPython, generatorStateDict, safetensors } from '../model/pytorch';
import type { Weight, WeightSource } from '../model/weights';
import { checkpointAt } from '../runFolders/checkpoints';

export interface ExportOptions {
  format: ExportFormat;
  /** A kept checkpoint's step; the newest by default. */
  step?: number;
  /** Default: `exports/<run>-step<N>-<format>` under the working folder. */
  out?: string;
}

/** The generator's weights in a checkpoint, by layer and weight name (`unet_conv2D_1`, `kernel`). */
function checkpointWeights(dir: string): WeightSource {
  const json = JSON.parse(readFileSync(join(dir, 'generator.model.json'), 'utf8'));
  const specs = json.weightsManifest[0].weights as { name: string; shape: number[]; dtype: string }[];
  const bin = readFileSync(join(dir, 'generator.weights.bin'));
  const byName = new Map<string, Weight>();
  let offset = bin.byteOffset;
  for (const s of specs) {
    if (s.dtype !== 'float32') throw new Error(`weight ${s.name} is ${s.dtype}, not float32`);
    const size = s.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(bin.buffer.slice(offset, offset + size * 4));
    offset += size * 4;
    const [layer, name] = s.name.split('/');
    byName.set(`${layer}/${name.replace(/_\d+$/, '')}`, { values, shape: s.shape });
  }
  return (layer, name) => {
    const w = byName.get(`${layer}/${name}`);
    if (!w) throw new Error(`the checkpoint has no weight ${layer}/${name}`);
    return w;
  };
}

/** What the generator expects and returns, for whoever runs the exported file. */
function transformRecord(config: ResolvedConfig, run: string, step: number, format: ExportFormat) {
  const { input, output, train } = config;
  const layout = format === 'tfjs' ? 'NHWC' : 'NCHW';
  return {
    run,
    step,
    format,
    input: { name: 'input', layout, size: input.size, channels: input.channels, range: [-1, 1] },
    output: { name: 'output', layout, channels: output.channels, activation: output.activation },
    transform: { kind: train.data.transform, canny: train.data.canny, resize: train.data.resize },
    mode: 'inference: BatchNormalization with its moving statistics, no dropout',
  };
}

/** The generator's files of `format` in `out`; returns their paths. */
function writeModel(
  out: string,
  format: ExportFormat,
  generator: ModelGraph,
  checkpoint: { dir: string; step: number },
  run: string,
): string[] {
  const write = (name: string, data: Uint8Array | string) => {
    writeFileSync(join(out, name), data);
    return join(out, name);
  };
  if (format === 'onnx') return [write('generator.onnx', generatorOnnx(generator, checkpointWeights(checkpoint.dir)))];
  if (format === 'pytorch') {
    const weights = generatorStateDict(generator, checkpointWeights(checkpoint.dir));
    const metadata = { format: 'pt', run, step: String(checkpoint.step) };
    return [
      write('model.py', generatorPython(generator, `The generator of the run ${run} at step ${checkpoint.step}.`)),
      write('generator.safetensors', safetensors(weights, metadata)),
    ];
  }
  return ['generator.model.json', 'generator.weights.bin'].map((name) => {
    copyFileSync(join(checkpoint.dir, name), join(out, name));
    return join(out, name);
  });
}

/** Writes the export; returns the files written. */
export function exportRun(runDir: string, o: ExportOptions): string[] {
  const run = resolve(runDir);
  const { config, generator, diagnostics } = analyze(readFileSync(join(run, 'config.p2p.yaml'), 'utf8'));
  if (!generator) throw new Error(`${run}: its config has errors: ${diagnostics[0]?.message}`);
  const checkpoint = checkpointAt(run, o.step);
  const out = resolve(o.out ?? join('exports', `${basename(run)}-step${checkpoint.step}-${o.format}`));
  mkdirSync(out, { recursive: true });
  const files = writeModel(out, o.format, generator, checkpoint, basename(run));
  const transform = join(out, 'transform.json');
  writeFileSync(transform, JSON.stringify(transformRecord(config, run, checkpoint.step, o.format), null, 2) + '\n');
  return [...files, transform];
}
