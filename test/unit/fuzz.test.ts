import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { kerasSummary } from '../../src/core/kerasSummary';
import { int, pick, rng } from '../support/marked';

const examplesDir = join(__dirname, '..', '..', 'examples');
const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.p2p.yaml'))
  .map((f) => readFileSync(join(examplesDir, f), 'utf8'));

const JUNK_VALUES = [
  '1e308',
  '-1e308',
  '.inf',
  '.nan',
  '0',
  '-1',
  '99999999999999999999',
  '0.5',
  'true',
  'null',
  '~',
  '[]',
  '{}',
  '"x"',
  '*a',
  '&a 3',
  '!!binary aGk=',
  '[1, [2, [3]]]',
  '{a: {b: {c: 1}}}',
  '9',
  '2',
  '65',
];

function mutate(r: () => number, text: string): string {
  const pos = int(r, 0, text.length);
  switch (int(r, 0, 8)) {
    case 0: // delete a run of characters
      return text.slice(0, pos) + text.slice(pos + int(r, 1, 20));
    case 1: // duplicate a run of characters
      return text.slice(0, pos) + text.slice(pos, pos + int(r, 1, 40)) + text.slice(pos);
    case 2: {
      // replace a scalar value after a colon
      const colons = [...text.matchAll(/: /g)].map((m) => m.index! + 2);
      if (!colons.length) return text;
      const at = pick(r, colons);
      const end = text.slice(at).search(/[,}\n]/);
      return text.slice(0, at) + pick(r, JUNK_VALUES) + text.slice(end < 0 ? text.length : at + end);
    }
    case 3: // huge numbers
      return text.replace(/\d+/, String(10 ** int(r, 5, 400)));
    case 4: {
      // deep nesting
      const depth = int(r, 10, 5000);
      return text.slice(0, pos) + '['.repeat(depth) + ']'.repeat(r() < 0.5 ? depth : 0) + text.slice(pos);
    }
    case 5: {
      // binary junk
      const bytes = Array.from({ length: int(r, 1, 64) }, () => String.fromCharCode(int(r, 0, 0xffff)));
      return text.slice(0, pos) + bytes.join('') + text.slice(pos);
    }
    case 6: {
      // swap two lines
      const lines = text.split('\n');
      const a = int(r, 0, lines.length - 1);
      const b = int(r, 0, lines.length - 1);
      [lines[a], lines[b]] = [lines[b], lines[a]];
      return lines.join('\n');
    }
    case 7: // indentation damage
      return text.replace(/\n {2}/g, () => (r() < 0.2 ? '\n' + ' '.repeat(int(r, 0, 5)) : '\n  '));
    default: {
      // deep block nesting under a known key
      const depth = int(r, 2, 200);
      let s = 'generator:\n';
      for (let i = 1; i <= depth; i++) s += `${' '.repeat(2 * i)}k${i}:\n`;
      return text + '\n' + s;
    }
  }
}

describe('parser and validator fuzz', () => {
  it('never throws on 5,000 random mutations of the examples', () => {
    const r = rng(4242);
    let withErrors = 0;
    let withGraphs = 0;
    for (let i = 0; i < 5000; i++) {
      let text = pick(r, examples);
      const rounds = int(r, 1, 4);
      for (let k = 0; k < rounds; k++) text = mutate(r, text);
      let a;
      try {
        a = analyze(text);
        if (a.generator) kerasSummary(a.generator);
      } catch (e) {
        assert.fail(`analyze threw on mutation ${i}: ${(e as Error).stack}\n--- input ---\n${text.slice(0, 2000)}`);
      }
      for (const d of a.diagnostics) {
        assert.ok(d.range.start.line >= 0 && d.range.start.character >= 0, 'positions are non-negative');
        assert.ok(
          d.range.start.line < d.range.end.line ||
            (d.range.start.line === d.range.end.line && d.range.start.character <= d.range.end.character),
          'ranges are ordered',
        );
        assert.ok(d.message.length > 0);
      }
      if (a.diagnostics.some((d) => d.severity === 'error')) withErrors++;
      if (a.generator) withGraphs++;
    }
    // The mutations reach both sides: broken documents and still-valid ones.
    assert.ok(withErrors > 1000, `errors in ${withErrors} mutants`);
    assert.ok(withGraphs > 200, `graphs for ${withGraphs} mutants`);
  });

  it('survives pathological documents', () => {
    const cases = [
      '\u0000'.repeat(1000),
      '['.repeat(100_000),
      '{'.repeat(50_000) + '}'.repeat(50_000),
      '- '.repeat(20_000) + 'x',
      'a: &a [*a]\n',
      'a: &a [1, 2]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
      'generator: &g { skips: *g }\n',
      'generator:\n  skips: &s [1, *s]\n',
      `generator:\n  decoder: [${Array.from({ length: 100 }, (_, i) => `{level: ${i}}`).join(', ')}]\n`,
      'input: { size: 1e400 }\n',
      '\ufeffinput: { size: 128 }\n',
      'input:\r\n  size: 64\r\n',
    ];
    for (const text of cases) {
      const a = analyze(text);
      assert.ok(Array.isArray(a.diagnostics));
    }
    assert.deepEqual(analyze('input:\r\n  size: 64\r\ngenerator: { levels: 6 }\r\n').diagnostics, []);
    assert.deepEqual(analyze('\ufeffinput: { size: 128 }\n').diagnostics, []);
  });
});
