import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { marked } from '../support/marked';

/** Analyzes marked text and checks that exactly the marked ranges carry diagnostics of the given codes. */
function expectDiagnostics(
  source: string,
  expected: { code: string; severity?: 'error' | 'warning'; message?: string | RegExp }[],
) {
  const { text, ranges } = marked(source);
  const { diagnostics } = analyze(text);
  assert.equal(diagnostics.length, expected.length, `diagnostics: ${JSON.stringify(diagnostics, null, 1)}`);
  assert.equal(ranges.length, expected.length, 'one marked range per expected diagnostic');
  expected.forEach((e, i) => {
    const d = diagnostics[i];
    assert.equal(d.code, e.code, d.message);
    assert.equal(d.severity, e.severity ?? 'error', d.message);
    assert.deepEqual(d.range, ranges[i], `range of "${d.message}"`);
    if (typeof e.message === 'string') assert.equal(d.message, e.message);
    else if (e.message) assert.match(d.message, e.message);
  });
  return diagnostics;
}

describe('diagnostics', () => {
  it('accepts the empty document (the seed by defaults)', () => {
    expectDiagnostics('', []);
    expectDiagnostics('# only a comment\n', []);
  });

  it('reports YAML syntax errors at their position', () => {
    expectDiagnostics('input:\n  size: 128\n« »channels: 3\n', [
      { code: 'yaml-syntax', message: 'All mapping items must start at the same column' },
    ]);
    expectDiagnostics('input:\n«\t»size: 128\n', [
      { code: 'yaml-syntax', message: 'Tabs are not allowed as indentation' },
    ]);
  });

  it('reports duplicate keys at the second key', () => {
    expectDiagnostics('generator:\n  levels: 3\n  «levels»: 4\n', [
      {
        code: 'yaml-syntax',
        message: 'duplicate key `levels` (first at line 2): each key may appear once in a mapping',
      },
    ]);
  });

  it('reports a second document', () => {
    const ds = analyze('name: a\n---\nname: b\n').diagnostics;
    assert.equal(ds.length, 1);
    assert.match(ds[0].message, /holds one config/);
    assert.equal(ds[0].range.start.line, 1);
  });

  it('reports a non-mapping top level', () => {
    expectDiagnostics('«just some words»', [
      { code: 'type', message: /expected a mapping at the top level .* found the string "just some words"/ },
    ]);
  });

  it('suggests the closest key for an unknown key', () => {
    expectDiagnostics('generator:\n  «skps»: none\n', [
      { code: 'unknown-key', message: 'unknown key `skps` in `generator`; did you mean `skips`?' },
    ]);
    expectDiagnostics('«genrator»:\n  levels: 3\n', [
      { code: 'unknown-key', message: 'unknown key `genrator`; did you mean `generator`?' },
    ]);
  });

  it('lists the valid keys when nothing is close', () => {
    expectDiagnostics('input:\n  «resolution»: 128\n', [
      { code: 'unknown-key', message: 'unknown key `resolution` in `input`; expected one of: size, channels' },
    ]);
  });

  it('reports wrong types with what was expected and found', () => {
    expectDiagnostics('generator:\n  levels: «seven»\n', [
      { code: 'type', message: '`generator.levels`: expected an integer from 2 to 16, found the string "seven"' },
    ]);
    expectDiagnostics('input: «[128, 1]»\n', [
      { code: 'type', message: /`input`: expected a mapping \(size, channels\), found a list/ },
    ]);
    expectDiagnostics('generator:\n  decoder:\n    - level: 1\n      skip: «yes please»\n', [
      {
        code: 'type',
        message: '`generator.decoder[0].skip`: expected `true` or `false`, found the string "yes please"',
      },
    ]);
    expectDiagnostics('generator:\n  skips: «3»\n', [
      { code: 'type', message: '`generator.skips`: expected `all`, `none` or a list of decoder levels, found 3' },
    ]);
  });

  it('suggests the closest enumerated value', () => {
    expectDiagnostics('generator:\n  upsampling: «neareast»\n', [
      {
        code: 'enum',
        message: '`generator.upsampling`: expected `nearest` or `transpose`, found `neareast`; did you mean `nearest`?',
      },
    ]);
  });

  it('reports a size that is not a power of two', () => {
    expectDiagnostics('input:\n  size: «100»\n', [
      {
        code: 'size-power-of-two',
        message:
          '`input.size`: expected a power of two (every encoder level halves the image), found 100; the nearest are 64 and 128',
      },
    ]);
  });

  it('reports too many levels for the size', () => {
    expectDiagnostics('input: { size: 64 }\ngenerator:\n  levels: «7»\n', [
      { code: 'levels-too-many', message: /7 levels .* at least 128; it is 64, so at most 6 levels/ },
    ]);
  });

  it('reports a 1x1 bottleneck trained with batch 1', () => {
    expectDiagnostics('generator:\n  levels: «7»\ntrain:\n  batchSize: 1\n', [
      { code: 'bottleneck-batchnorm', severity: 'warning' },
    ]);
    expectDiagnostics('generator:\n  levels: 6\ntrain:\n  batchSize: 1\n', []);
  });

  it('names the valid range for a skip level that does not exist', () => {
    expectDiagnostics('generator:\n  skips: [1, «9»]\n', [
      {
        code: 'level-range',
        message: '`generator.skips`: level 9 does not exist; this generator has decoder levels 1..6',
      },
    ]);
  });

  it('names the valid range for dropout levels and decoder entries', () => {
    expectDiagnostics('generator:\n  levels: 4\n  dropout: { levels: [«4»] }\n', [
      {
        code: 'level-range',
        message: '`generator.dropout.levels`: level 4 does not exist; this generator has decoder levels 1..3',
      },
    ]);
    expectDiagnostics('generator:\n  decoder:\n    - level: «7»\n      skip: false\n', [
      {
        code: 'level-range',
        message: '`generator.decoder[0].level`: level 7 does not exist; this generator has decoder levels 1..6',
      },
    ]);
    expectDiagnostics('generator:\n  skips: [«0»]\n', [
      { code: 'range', message: /expected an integer from 1 to 64, found 0/ },
    ]);
  });

  it('reports duplicate and missing decoder levels', () => {
    expectDiagnostics('generator:\n  decoder:\n    - { level: 2, skip: false }\n    - { level: «2», filters: 8 }\n', [
      { code: 'duplicate-level', message: /level 2 is already configured by `generator.decoder\[0\]`/ },
    ]);
    expectDiagnostics('generator:\n  decoder:\n    - «skip: false»\n', [
      { code: 'missing-level', message: /missing `level` \(1..6, 1 is the deepest\)/ },
    ]);
    expectDiagnostics('generator:\n  skips: [1, «1»]\n', [{ code: 'duplicate-level', severity: 'warning' }]);
  });

  it('reports dropout outside [0, 1)', () => {
    expectDiagnostics('generator:\n  dropout:\n    rate: «1»\n', [
      { code: 'range', message: '`generator.dropout.rate`: expected a number in [0, 1), found 1' },
    ]);
    expectDiagnostics('generator:\n  decoder:\n    - { level: 1, dropout: «-0.1» }\n', [
      { code: 'range', message: '`generator.decoder[0].dropout`: expected a number in [0, 1), found -0.1' },
    ]);
  });

  it('reports filters <= 0', () => {
    expectDiagnostics('generator:\n  filters: «0»\n', [
      { code: 'range', message: '`generator.filters`: expected an integer from 1 to 4096, found 0' },
    ]);
    expectDiagnostics('generator:\n  decoder:\n    - { level: 1, filters: «-8» }\n', [{ code: 'range' }]);
    expectDiagnostics('discriminator:\n  filters: «0»\n', [{ code: 'range' }]);
  });

  it('warns when an override contradicts a shorthand', () => {
    expectDiagnostics('generator:\n  skips: none\n  decoder:\n    - level: 2\n      «skip: true»\n', [
      {
        code: 'override',
        severity: 'warning',
        message:
          '`generator.decoder[0].skip`: `skip: true` on level 2 overrides `generator.skips`, which drops this skip',
      },
    ]);
    expectDiagnostics('generator:\n  dropout: { levels: [1, 2, 3] }\n  decoder:\n    - { level: 2, «dropout: 0» }\n', [
      {
        code: 'override',
        severity: 'warning',
        message: /dropout off on level 2 overrides `generator.dropout.levels`, which includes this level/,
      },
    ]);
    // Agreeing overrides and overrides of defaults are silent.
    expectDiagnostics(
      'generator:\n  skips: [1]\n  decoder:\n    - { level: 1, skip: true }\n    - { level: 3, skip: false }\n',
      [],
    );
  });

  it('reports a discriminator patch that does not tile the image', () => {
    expectDiagnostics('discriminator:\n  patch: «48»\n', [
      {
        code: 'patch-tiling',
        message:
          '`discriminator.patch`: 48 does not tile the 128x128 image; use a power of two that divides 128: 2, 4, 8, 16, 32, 64, 128',
      },
    ]);
    expectDiagnostics('input: { size: 32 }\ngenerator: { levels: 5 }\ndiscriminator:\n  patch: «64»\n', [
      { code: 'patch-tiling' },
    ]);
    // Written nowhere, the levels and the patch follow the size (4 levels and patch 16 at 16): no error.
    expectDiagnostics('input: { size: 16 }\n', []);
  });

  it('reports more discriminator layers than the patch allows', () => {
    expectDiagnostics('discriminator:\n  patch: 16\n  layers: «5»\n', [{ code: 'disc-layers', message: /at most 4/ }]);
  });

  it('reports absurdly nested flow collections without parsing them', () => {
    const text = `generator:\n  skips: ${'['.repeat(64)}«[»${'['.repeat(500)}\n`;
    expectDiagnostics(text, [{ code: 'too-deep', message: /nested deeper than 64 levels/ }]);
  });

  it('reports a document too large to analyze', () => {
    const text = `name: big\n${'# padding line\n'.repeat(80_000)}`;
    const ds = analyze(text).diagnostics;
    assert.equal(ds.length, 1);
    assert.equal(ds[0].code, 'too-large');
  });

  it('builds no graph when there are errors, and both graphs when there are only warnings', () => {
    assert.equal(analyze('input: { size: 100 }').generator, undefined);
    const warned = analyze('generator:\n  skips: none\n  decoder: [{ level: 1, skip: true }]\n');
    assert.equal(warned.diagnostics[0].severity, 'warning');
    assert.ok(warned.generator && warned.discriminator);
  });
});
