import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { analyze } from '../../src/core/analysis';
import type { ModelGraph } from '../../src/core/graph';
import { buildModel } from '../../src/model/build';
import { int, pick, rng } from '../support/marked';

tf.env().set('PROD', true); // silences the "install tfjs-node" banner; these tests only build models

/** A random valid config as YAML text, so the parser and resolver are exercised too. */
function randomConfig(r: () => number): string {
  const size = 2 ** int(r, 4, 8); // 16..256
  const levels = int(r, 2, Math.log2(size));
  const decoderLevels = levels - 1;
  const levelList = () => [
    ...new Set(Array.from({ length: int(r, 0, decoderLevels) }, () => int(r, 1, decoderLevels))),
  ];
  const skips = pick(r, ['all', 'none', 'list'] as const);
  const dropout = pick(r, ['all', 'none', 'list'] as const);
  const type = pick(r, ['seed', 'patchgan'] as const);
  const least = type === 'seed' ? 2 : 1; // the seed's trunk has a convolution before and after its concatenation
  const patch = 2 ** int(r, least, Math.log2(size));
  const lines = [
    `input: { size: ${size}, channels: ${pick(r, [1, 3])} }`,
    `output: { channels: ${pick(r, [1, 3])}, activation: ${pick(r, ['tanh', 'sigmoid', 'linear'])} }`,
    'generator:',
    `  filters: ${int(r, 1, 12)}`,
    `  maxMultiplier: ${int(r, 1, 8)}`,
    `  kernel: ${pick(r, [1, 3, 5])}`,
    `  levels: ${levels}`,
    `  upsampling: ${pick(r, ['nearest', 'transpose'])}`,
    `  skips: ${skips === 'list' ? `[${levelList().join(', ')}]` : skips}`,
    `  dropout: { rate: ${(int(r, 0, 9) / 10).toFixed(1)}, levels: ${dropout === 'list' ? `[${levelList().join(', ')}]` : dropout} }`,
  ];
  const overrides = [...new Set(Array.from({ length: int(r, 0, 2) }, () => int(r, 1, decoderLevels)))];
  if (overrides.length) {
    lines.push('  decoder:');
    for (const level of overrides) {
      const fields = [`level: ${level}`];
      if (r() < 0.5) fields.push(`skip: ${r() < 0.5}`);
      if (r() < 0.5) fields.push(`dropout: ${pick(r, ['true', 'false', '0.3'])}`);
      if (r() < 0.5) fields.push(`filters: ${int(r, 1, 20)}`);
      lines.push(`    - { ${fields.join(', ')} }`);
    }
  }
  lines.push(
    'discriminator:',
    `  type: ${type}`,
    `  patch: ${patch}`,
    `  filters: ${int(r, 1, 8)}`,
    `  layers: ${int(r, least, Math.log2(patch))}`,
  );
  return lines.join('\n') + '\n';
}

function compare(model: tf.LayersModel, graph: ModelGraph, config: string) {
  const where = `\n${config}`;
  assert.equal(model.name, graph.name);
  assert.equal(model.countParams(), graph.totals.params, `countParams${where}`);
  const trainable = model.trainableWeights.reduce((s, w) => s + tf.util.sizeFromShape(w.shape as number[]), 0);
  const nonTrainable = model.nonTrainableWeights.reduce((s, w) => s + tf.util.sizeFromShape(w.shape as number[]), 0);
  assert.equal(trainable, graph.totals.trainableParams, `trainable${where}`);
  assert.equal(nonTrainable, graph.totals.nonTrainableParams, `non-trainable${where}`);
  assert.deepEqual(
    model.layers.map((l) => l.name),
    graph.layers.map((l) => l.name),
    `layer names${where}`,
  );
  graph.layers.forEach((node, i) => {
    const layer = model.layers[i];
    assert.deepEqual(layer.outputShape, [null, ...node.outputShape], `${node.name} output shape${where}`);
    assert.equal(layer.countParams(), node.params, `${node.name} params${where}`);
  });
}

describe('tfjs model builder', () => {
  it('builds the seed generator and discriminator with the graph numbers', () => {
    const a = analyze('');
    const g = buildModel(tf, a.generator!);
    const d = buildModel(tf, a.discriminator!);
    compare(g, a.generator!, 'seed');
    compare(d, a.discriminator!, 'seed');
    assert.equal(g.countParams(), 19_303_811);
    g.dispose();
    d.dispose();
  });

  it('derives the depth from the image size: 8 levels at 256, 6 at 64, 5 at 32, each with the seed discriminator', () => {
    for (const [input, levels, patch] of [
      ['{ size: 256, channels: 3 }', 8, 64],
      ['{ size: 64 }', 6, 64],
      ['{ size: 32, channels: 1 }', 5, 32],
    ] as const) {
      const a = analyze(`input: ${input}\n`);
      // At 256 a step of the seed is past the wasm heap (tfjs-wasm runs out of memory there): a warning, not an error.
      const expected = input.includes('256') ? ['step-memory'] : [];
      assert.deepEqual(
        a.diagnostics.map((d) => d.code),
        expected,
        input,
      );
      assert.deepEqual(
        [a.config.generator.levels, a.config.discriminator.patch, a.config.discriminator.type],
        [levels, patch, 'seed'],
        input,
      );
      for (const graph of [a.generator!, a.discriminator!]) {
        const model = buildModel(tf, graph);
        compare(model, graph, input);
        model.dispose();
      }
    }
  });

  it('matches the graph for 200 random valid configs', () => {
    const r = rng(20261127);
    for (let i = 0; i < 200; i++) {
      const text = randomConfig(r);
      const a = analyze(text);
      assert.deepEqual(
        a.diagnostics.filter((d) => d.severity === 'error'),
        [],
        text,
      );
      for (const graph of [a.generator!, a.discriminator!]) {
        const model = buildModel(tf, graph);
        compare(model, graph, text);
        model.dispose();
      }
    }
    assert.equal(tf.memory().numTensors, 0, 'disposed models leave no tensors');
  });

  it('runs a forward pass with the graph output shapes', () => {
    const a = analyze(
      'input: { size: 32 }\ngenerator: { filters: 4, levels: 5 }\ndiscriminator: { patch: 16, filters: 4 }\n',
    );
    const g = buildModel(tf, a.generator!);
    const d = buildModel(tf, a.discriminator!);
    tf.tidy(() => {
      const x = tf.randomUniform([2, 32, 32, 1], -1, 1);
      const y = g.apply(x, { training: true }) as tf.Tensor;
      assert.deepEqual(y.shape, [2, 32, 32, 3]);
      const yMax = y.abs().max().dataSync()[0];
      assert.ok(yMax <= 1, 'tanh output');
      const p = d.apply([y, x]) as tf.Tensor;
      assert.deepEqual(p.shape, [2, 2]);
      const sums = p.sum(-1).dataSync();
      sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5, 'softmax rows sum to 1'));
    });
    g.dispose();
    d.dispose();
  });
});
