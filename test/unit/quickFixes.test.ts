import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { LineIndex, type Diagnostic, type Fix } from '../../src/core/diagnostics';
import { marked } from '../support/marked';

/** The one diagnostic of `code` in marked text, checked to sit on the marked range. */
function diagnosticAt(source: string, code: string): Diagnostic {
  const { text, ranges } = marked(source);
  const found = analyze(text).diagnostics.filter((d) => d.code === code);
  assert.equal(found.length, 1, JSON.stringify(analyze(text).diagnostics, null, 1));
  assert.deepEqual(found[0].range, ranges[0], found[0].message);
  return found[0];
}

/** The text after applying a fix, and what the analysis says of it then. */
function applied(source: string, d: Diagnostic, fix: Fix): { text: string; codes: string[] } {
  const { text } = marked(source);
  const lines = new LineIndex(text);
  const out = text.slice(0, lines.offset(d.range.start)) + fix.newText + text.slice(lines.offset(d.range.end));
  return { text: out, codes: analyze(out).diagnostics.map((x) => x.code) };
}

const titles = (d: Diagnostic) => (d.fixes ?? []).map((f) => `${f.title}${f.preferred ? ' *' : ''}`);

describe('quick fixes', () => {
  it('renames a misspelt key to the one it was meant to be', () => {
    const source = 'generator:\n  «filtres»: 32\n';
    const d = diagnosticAt(source, 'unknown-key');
    assert.deepEqual(titles(d), ["Change to 'filters' *"]);
    assert.deepEqual(applied(source, d, d.fixes![0]), { text: 'generator:\n  filters: 32\n', codes: [] });
  });

  it('offers nothing for a key too far from any', () => {
    assert.equal(diagnosticAt('generator:\n  «colour»: red\n', 'unknown-key').fixes, undefined);
  });

  it('corrects a config path of an ablation grid', () => {
    const source = 'ablation:\n  grid:\n    «generator.upsamplin»: [nearest, transpose]\n';
    const d = diagnosticAt(source, 'unknown-key');
    assert.deepEqual(titles(d), ["Change to 'generator.upsampling' *"]);
    assert.deepEqual(applied(source, d, d.fixes![0]).codes, []);
  });

  it('corrects a misspelt value, or lists the few there are', () => {
    const close = 'generator:\n  upsampling: «transpos»\n';
    const d = diagnosticAt(close, 'enum');
    assert.deepEqual(titles(d), ["Change to 'transpose' *"]);
    assert.deepEqual(applied(close, d, d.fixes![0]).codes, []);
    const far = diagnosticAt('generator:\n  upsampling: «bilinear»\n', 'enum');
    assert.deepEqual(titles(far), ["Change to 'nearest'", "Change to 'transpose'"]);
  });

  it('rounds a size to the nearest power of two, the other one second', () => {
    const source = 'input:\n  size: «200»\n';
    const d = diagnosticAt(source, 'size-power-of-two');
    assert.deepEqual(titles(d), ["Change to '256' (nearest power of two) *", "Change to '128'"]);
    assert.deepEqual(applied(source, d, d.fixes![0]).codes, ['step-memory'], 'at 256 the seed is past the wasm heap');
    assert.deepEqual(
      titles(diagnosticAt('input:\n  size: «130»\n', 'size-power-of-two'))[0],
      "Change to '128' (nearest power of two) *",
    );
  });

  it('moves a level out of range to the last decoder level', () => {
    const listed = 'generator:\n  levels: 4\n  skips: [1, «7»]\n';
    const d = diagnosticAt(listed, 'level-range');
    assert.deepEqual(titles(d), ["Change to '3' (the last decoder level) *"]);
    assert.deepEqual(applied(listed, d, d.fixes![0]).codes, []);
    const entry = 'generator:\n  levels: 4\n  decoder:\n    - { level: «5», skip: false }\n';
    const e = diagnosticAt(entry, 'level-range');
    assert.deepEqual(titles(e), ["Change to '3' (the last decoder level) *"]);
    assert.deepEqual(applied(entry, e, e.fixes![0]).codes, []);
  });

  it('clamps a number below its minimum (level 0 is no level)', () => {
    const source = 'generator:\n  levels: 4\n  decoder:\n    - { level: «0», skip: false }\n';
    const d = diagnosticAt(source, 'range');
    assert.deepEqual(titles(d), ["Change to '1' (nearest allowed) *"]);
    assert.deepEqual(applied(source, d, d.fixes![0]).codes, []);
    assert.deepEqual(titles(diagnosticAt('train:\n  batchSize: «2.5»\n', 'range')), [
      "Change to '3' (nearest allowed) *",
    ]);
  });

  it('gives a discriminator patch that does not tile the image the nearest that does', () => {
    const source = 'input:\n  size: 64\ndiscriminator:\n  patch: «70»\n';
    const d = diagnosticAt(source, 'patch-tiling');
    assert.deepEqual(titles(d), ["Change to '64' (the nearest that tiles the image) *"]);
    assert.deepEqual(applied(source, d, d.fixes![0]).codes, []);
  });

  it('fixes only the value the diagnostic sits on', () => {
    // Too many levels for the size, with `levels` not written: the error is on `size`, which the fix does not change.
    const onSize = analyze('input:\n  size: 16\n').diagnostics;
    assert.deepEqual(onSize, []);
    const source = 'input:\n  size: 16\ngenerator:\n  levels: «6»\n';
    const d = diagnosticAt(source, 'levels-too-many');
    assert.deepEqual(titles(d), ["Change to '4' (the most a 16x16 image allows) *"]);
    assert.deepEqual(applied(source, d, d.fixes![0]).codes, []);
    const patchUnwritten = analyze('input:\n  size: 16\ndiscriminator:\n  layers: 9\n').diagnostics;
    assert.deepEqual(
      patchUnwritten.map((x) => [x.code, titles(x)]),
      [['disc-layers', ["Change to '4' (the most a patch of 16 allows) *"]]],
    );
  });
});

describe('syntax errors where they start', () => {
  it('puts an unclosed bracket at the bracket, not where the parser gave up', () => {
    diagnosticAt('generator: «{»filters: 64\ninput:\n  size: 128\n', 'yaml-syntax');
    const d = diagnosticAt('generator:\n  skips: «[»1, 2\ninput:\n  size: 128\n', 'yaml-syntax');
    assert.equal(d.message, 'unclosed `[`: this flow list needs a `]` (the parser gave up at line 3)');
  });

  it('puts each bracket the parser found unclosed at its own token', () => {
    const { text, ranges } = marked('generator:\n  decoder: «[» «{»level: 1, skip: false ]\n');
    const ds = analyze(text).diagnostics;
    assert.deepEqual(
      ds.map((d) => [d.message.slice(0, 12), d.range]),
      [
        ['unclosed `[`', ranges[0]],
        ['unclosed `{`', ranges[1]],
      ],
    );
  });

  it('puts an unclosed quote at the quote', () => {
    const d = diagnosticAt('name: «"»ablation\ninput:\n  size: 64\n', 'yaml-syntax');
    assert.equal(d.message, 'unclosed `"`: this string needs a closing `"`');
  });

  it('names a duplicate key and where it was first', () => {
    const d = diagnosticAt('input:\n  size: 128\n  channels: 3\n  «size»: 64\n', 'yaml-syntax');
    assert.equal(d.message, 'duplicate key `size` (first at line 2): each key may appear once in a mapping');
  });
});
