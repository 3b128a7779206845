// The generator exported as ONNX and run by ONNX Runtime gives the tfjs generator's output (inference mode), for
// the seed and for a config with transposed convolutions and some skips off.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { analyze } from '../../src/core/analysis';
import { SeededRandom } from '../../src/core/random';
import { buildModel, registerLayers } from '../../src/model/build';
import { generatorOnnx } from '../../src/model/onnx';
import { permute } from '../../src/model/weights';
import { weightsOf } from '../support/modelWeights';
import { microConfig } from '../support/micro';
import { tempDir } from '../support/tempDir';

const root = join(__dirname, '..', '..');
const example = (name: string) => readFileSync(join(root, 'examples', name), 'utf8');

/** Largest difference between ONNX Runtime on an NCHW input and a tfjs model on the same input as NHWC. */
async function largestDifference(onnx: Uint8Array, model: tf.LayersModel, x: Float32Array, nhwc: number[]) {
  const [batch, h, w, c] = nhwc;
  const expected = (model.predict(tf.tensor(x, nhwc)) as tf.Tensor).dataSync() as Float32Array;
  const session = await ort.InferenceSession.create(onnx);
  const input = new ort.Tensor('float32', permute(x, nhwc, [0, 3, 1, 2]), [batch, c, h, w]);
  const { output } = await session.run({ input });
  const [, oc, oh, ow] = output.dims as number[];
  const want = permute(expected, [batch, oh, ow, oc], [0, 3, 1, 2]);
  const got = output.data as Float32Array;
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst;
}

async function compare(text: string, batch: number): Promise<number> {
  const { generator } = analyze(text);
  await tf.setBackend('cpu');
  registerLayers(tf);
  const model = buildModel(tf, generator!);
  const rng = new SeededRandom(7);
  const onnx = generatorOnnx(generator!, weightsOf(tf, model, rng));
  const [h, w, c] = generator!.layers[0].outputShape;
  const x = Float32Array.from({ length: batch * h * w * c }, () => rng.next() * 2 - 1);
  const worst = await largestDifference(onnx, model, x, [batch, h, w, c]);
  model.dispose();
  return worst;
}

describe('the generator as ONNX', () => {
  it("runs the seed's generator in ONNX Runtime as tfjs does", async () => {
    const worst = await compare(example('seed.p2p.yaml'), 2);
    assert.ok(worst <= 1e-4, `largest difference ${worst}`);
  });

  it('runs transposed convolutions with skips 1 and 3 off as tfjs does', async () => {
    const text = example('tiny.p2p.yaml')
      .replace('skips: all', 'skips: [2, 4]')
      .replace('levels: 5', 'levels: 5\n  upsampling: transpose');
    const worst = await compare(text, 3);
    assert.ok(worst <= 1e-4, `largest difference ${worst}`);
  });

  it('exports a trained run with `p2p export`: ONNX and the tfjs model agree, with the transform beside them', async () => {
    const work = tempDir('p2p-export-');
    const config = join(work, 'micro.p2p.yaml');
    writeFileSync(config, microConfig(0.5));
    const cli = join(root, 'dist', 'cli.js');
    const p2p = (...args: string[]) =>
      execFileSync(process.execPath, [cli, ...args], {
        cwd: work,
        env: { ...process.env, P2P_DATA_DIR: join(work, 'data') },
      });
    p2p('train', config, '--steps', '60', '--out', 'runs');
    const run = join(work, 'runs', readdirSync(join(work, 'runs'))[0]);
    const files = (format: string) =>
      String(p2p('export', run, '--format', format, '--out', format))
        .trim()
        .split('\n');
    assert.deepEqual(
      files('onnx').map((f) => f.slice(work.length + 1)),
      ['onnx/generator.onnx', 'onnx/transform.json'],
    );
    assert.deepEqual(files('tfjs').length, 3);
    const transform = JSON.parse(readFileSync(join(work, 'onnx', 'transform.json'), 'utf8'));
    assert.deepEqual(
      [transform.step, transform.input, transform.transform.kind],
      [60, { name: 'input', layout: 'NCHW', size: 16, channels: 1, range: [-1, 1] }, 'canny'],
    );
    registerLayers(tf);
    // The tfjs export as tf.loadLayersModel reads it (from memory: tfjs without tfjs-node has no file:// loader).
    const json = JSON.parse(readFileSync(join(work, 'tfjs', 'generator.model.json'), 'utf8'));
    const bin = readFileSync(join(work, 'tfjs', 'generator.weights.bin'));
    const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
    const weightSpecs = json.weightsManifest[0].weights;
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }),
    );
    const rng = new SeededRandom(11);
    const x = Float32Array.from({ length: 4 * 16 * 16 }, () => rng.next() * 2 - 1);
    const worst = await largestDifference(readFileSync(join(work, 'onnx', 'generator.onnx')), model, x, [4, 16, 16, 1]);
    assert.ok(worst <= 1e-4, `largest difference ${worst}`);
    assert.throws(
      () => p2p('export', run, '--format', 'onnx', '--step', '7'),
      /keeps checkpoints at steps 0, 50, 60, not 7/,
    );
  });
});
