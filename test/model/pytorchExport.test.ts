// The generator exported for PyTorch (model.py and generator.safetensors) gives the tfjs generator's output
// (inference mode) when Debian's python3-torch runs it, for the seed and for a config with transposed convolutions
// and some skips off; and the safetensors file, read here by its format alone, holds every weight in PyTorch's
// layout. Skipped where `python3 -c "import torch"` fails (.ci/run installs python3-torch).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { analyze } from '../../src/core/analysis';
import type { ModelGraph } from '../../src/core/graph';
import { SeededRandom } from '../../src/core/random';
import { buildModel, registerLayers } from '../../src/model/build';
import { generatorPython, generatorStateDict, safetensors } from '../../src/model/pytorch';
import type { WeightSource } from '../../src/model/weights';
import { microConfig } from '../support/micro';
import { weightsOf } from '../support/modelWeights';
import { tempDir } from '../support/tempDir';

const root = join(__dirname, '..', '..');
const example = (name: string) => readFileSync(join(root, 'examples', name), 'utf8');
const PYTHON = '/usr/bin/python3';
const torch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const skip = torch ? false : 'python3-torch is not installed (apt-get install python3-torch)';

/** Runs the exported model in `dir` on `x` ([N, C, H, W]); its output, NCHW. */
function runTorch(dir: string, x: Float32Array, nchw: number[]): Float32Array {
  writeFileSync(join(dir, 'input.bin'), x);
  const script = `
import sys, torch
sys.path.insert(0, sys.argv[1])
import model
g = model.load(sys.argv[1] + "/generator.safetensors")
x = torch.frombuffer(bytearray(open(sys.argv[1] + "/input.bin", "rb").read()), dtype=torch.float32).reshape(${JSON.stringify(nchw)})
with torch.no_grad():
    y = g(x)
open(sys.argv[1] + "/output.bin", "wb").write(y.contiguous().numpy().tobytes())
`;
  execFileSync(PYTHON, ['-c', script, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const out = readFileSync(join(dir, 'output.bin'));
  return new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
}

/** NHWC -> NCHW, written out index by index (independently of src/model/weights.ts `permute`). */
function toNchw(v: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(v.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = v[((b * h + y) * w + x) * c + k];
  return out;
}

/** The largest difference between model.py's output and the tfjs generator's on the same random batch. */
function largestDifference(graph: ModelGraph, weights: WeightSource, model: tf.LayersModel, batch: number): number {
  const dir = tempDir('p2p-torch-');
  writeFileSync(join(dir, 'model.py'), generatorPython(graph, 'A test export.'));
  writeFileSync(join(dir, 'generator.safetensors'), safetensors(generatorStateDict(graph, weights)));
  const [h, w, c] = graph.layers[0].outputShape;
  const rng = new SeededRandom(5);
  const x = Float32Array.from({ length: batch * h * w * c }, () => rng.next() * 2 - 1);
  const want = model.predict(tf.tensor(x, [batch, h, w, c])) as tf.Tensor;
  const [, oh, ow, oc] = want.shape;
  const expected = toNchw(want.dataSync() as Float32Array, [batch, oh!, ow!, oc!]);
  const got = runTorch(dir, toNchw(x, [batch, h, w, c]), [batch, c, h, w]);
  assert.equal(got.length, expected.length);
  return got.reduce((worst, g, i) => Math.max(worst, Math.abs(g - expected[i])), 0);
}

/** The safetensors header, read by the format alone: u64 little-endian length, then JSON. */
function readHeader(file: Uint8Array): {
  length: number;
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
} {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + length)));
  delete header.__metadata__;
  return { length, header };
}

/** Every weight of `model` in the file, at PyTorch's name and layout, and nothing else. */
function checkWeights(file: Uint8Array, model: tf.LayersModel): number {
  const { length, header } = readHeader(file);
  assert.equal(length % 8, 0, 'the header is padded to 8 bytes');
  const data = file.subarray(8 + length);
  const f32 = (name: string) => {
    const [begin, end] = header[name].data_offsets;
    return new Float32Array(data.buffer.slice(data.byteOffset + begin, data.byteOffset + end));
  };
  let checked = 0;
  for (const layer of model.layers) {
    const weights = Object.fromEntries(
      layer.weights.map((w, i) => [w.originalName.split('/').pop()!, layer.getWeights()[i]]),
    );
    if (weights.kernel) {
      const [kh, kw, a, b] = weights.kernel.shape;
      const k = weights.kernel.dataSync();
      assert.deepEqual(header[`${layer.name}.weight`].shape, [b, a, kh, kw], layer.name);
      const got = f32(`${layer.name}.weight`);
      // PyTorch [b][a][y][x] is tfjs [y][x][a][b] (Conv2D: b out, a in; Conv2DTranspose: b in, a out).
      for (let i = 0; i < got.length; i++) {
        const x: number = i % kw;
        const y: number = Math.floor(i / kw) % kh;
        const ia: number = Math.floor(i / (kw * kh)) % a;
        const ib: number = Math.floor(i / (kw * kh * a));
        assert.equal(got[i], k[((y * kw + x) * a + ia) * b + ib], `${layer.name}.weight[${i}]`);
      }
      assert.deepEqual(f32(`${layer.name}.bias`), weights.bias.dataSync());
      checked += 2;
    }
    const bn = { gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };
    if (weights.gamma) {
      for (const [keras, name] of Object.entries(bn))
        assert.deepEqual(f32(`${layer.name}.${name}`), weights[keras].dataSync());
      assert.deepEqual(header[`${layer.name}.num_batches_tracked`], {
        dtype: 'I64',
        shape: [],
        data_offsets: header[`${layer.name}.num_batches_tracked`].data_offsets,
      });
      checked += 5;
    }
  }
  assert.equal(Object.keys(header).length, checked, 'no tensor but the weights');
  const ends = Object.values(header)
    .map((t) => t.data_offsets)
    .sort((p, q) => p[0] - q[0]);
  ends.forEach(([begin], i) => assert.equal(begin, i ? ends[i - 1][1] : 0, 'the tensors lie end to end'));
  assert.equal(ends.at(-1)![1], data.length);
  return checked;
}

async function compare(text: string, batch: number): Promise<{ worst: number; tensors: number }> {
  const { generator } = analyze(text);
  await tf.setBackend('cpu');
  registerLayers(tf);
  const model = buildModel(tf, generator!);
  const weights = weightsOf(tf, model, new SeededRandom(7));
  const worst = largestDifference(generator!, weights, model, batch);
  const tensors = checkWeights(safetensors(generatorStateDict(generator!, weights)), model);
  model.dispose();
  return { worst, tensors };
}

describe('the generator for PyTorch', { skip }, () => {
  it("runs the seed's generator in PyTorch as tfjs does, its weights in PyTorch's layouts", async () => {
    const { worst, tensors } = await compare(example('seed.p2p.yaml'), 2);
    console.log(`seed: largest difference ${worst.toExponential(1)} over ${tensors} tensors`);
    assert.ok(worst <= 1e-4, `largest difference ${worst}`);
    assert.equal(tensors, 14 * 2 + 12 * 5, '14 convolutions and 12 BatchNorms');
  });

  it('runs transposed convolutions with skips 1 and 3 off as tfjs does', async () => {
    const text = example('tiny.p2p.yaml')
      .replace('skips: all', 'skips: [2, 4]')
      .replace('levels: 5', 'levels: 5\n  upsampling: transpose');
    const { worst } = await compare(text, 3);
    console.log(`transpose, skips 1 and 3 off: largest difference ${worst.toExponential(1)}`);
    assert.ok(worst <= 1e-4, `largest difference ${worst}`);
  });

  it('exports a trained run with `p2p export --format pytorch`, which PyTorch alone loads', () => {
    const work = tempDir('p2p-export-torch-');
    writeFileSync(join(work, 'micro.p2p.yaml'), microConfig(0.5));
    const p2p = (...args: string[]) =>
      String(
        execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), ...args], {
          cwd: work,
          env: { ...process.env, P2P_DATA_DIR: join(work, 'data') },
        }),
      );
    p2p('train', 'micro.p2p.yaml', '--steps', '20', '--out', 'runs');
    const run = join(work, 'runs', readdirSync(join(work, 'runs'))[0]);
    const files = p2p('export', run, '--format', 'pytorch', '--out', 'torch').trim().split('\n');
    assert.deepEqual(
      files.map((f) => f.slice(work.length + 1)),
      ['torch/model.py', 'torch/generator.safetensors', 'torch/transform.json'],
    );
    const out = join(work, 'torch');
    const loaded = execFileSync(
      PYTHON,
      ['-c', 'import model; g = model.load("generator.safetensors"); print(sum(p.numel() for p in g.parameters()))'],
      { cwd: out },
    );
    const { generator } = analyze(microConfig(0.5));
    assert.equal(Number(String(loaded)), generator!.totals.trainableParams);
    const transform = JSON.parse(readFileSync(join(out, 'transform.json'), 'utf8'));
    assert.deepEqual([transform.format, transform.step, transform.input.layout], ['pytorch', 20, 'NCHW']);
    const { header } = readHeader(readFileSync(join(out, 'generator.safetensors')));
    assert.ok(header['unet_conv2D_1.weight'], 'the first convolution, by its Keras name');
  });
});
