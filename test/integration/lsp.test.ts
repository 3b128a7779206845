import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type {
  CodeAction,
  CodeLens,
  CompletionItem,
  DocumentSymbol,
  Hover,
  InlayHint,
  MarkupContent,
} from 'vscode-languageserver-protocol';
import type { SummaryResult } from '../../src/protocol/lsp';
import { int, pick, rng } from '../support/marked';
import { startServer, type LspSession } from '../support/lspClient';

const root = join(__dirname, '..', '..');
const seed = readFileSync(join(root, 'examples/seed.p2p.yaml'), 'utf8');
const golden = readFileSync(join(root, 'test/fixtures/seed_generator_unet_upsampling.keras.txt'), 'utf8');

/** Line/character of the `n`-th occurrence of `needle` (plus `shift` characters). */
function find(text: string, needle: string, shift = 0) {
  const offset = text.indexOf(needle);
  assert.ok(offset >= 0, `${needle} in text`);
  const lines = text.slice(0, offset + shift).split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

describe('language server over stdio', () => {
  let s: LspSession;
  const uri = 'file:///work/seed.p2p.yaml';
  let version = 1;
  let text = seed;

  const hoverText = async (needle: string, shift = 0) => {
    const h = await s.connection.sendRequest<Hover | null>('textDocument/hover', {
      textDocument: { uri },
      position: find(text, needle, shift),
    });
    return (h?.contents as MarkupContent | undefined)?.value ?? '';
  };
  const edit = async (next: string) => {
    text = next;
    version++;
    const published = s.nextDiagnostics(uri, version);
    s.change(uri, version, text);
    return (await published).diagnostics;
  };

  before(async () => {
    s = await startServer();
  });
  after(async () => {
    if (s.child.exitCode === null) await s.close();
  });

  it('publishes no diagnostics for the seed config on open', async () => {
    const published = s.nextDiagnostics(uri, 1);
    s.open(uri, text, 1);
    assert.deepEqual((await published).diagnostics, []);
  });

  it('hovers decoder level 3 with its Keras rows', async () => {
    const md = await hoverText('3] }', 0);
    assert.match(md, /Decoder level 3/);
    assert.match(md, /unet_upconv2D_3 \(Conv2D\) \| \(None, 8, 8, 256\) \| 2,359,552/);
  });

  it('hovers generator: with the totals in Keras words and the summary', async () => {
    const md = await hoverText('generator:', 2);
    assert.match(md, /Total params: 19,303,811/);
    assert.match(md, /Trainable params: 19,295,875/);
    assert.match(md, /Non-trainable params: 7,936/);
    assert.ok(md.includes(golden), 'the full Keras summary as a code block');
  });

  it('answers p2p/summary with the graph and the Keras text', async () => {
    const r = await s.connection.sendRequest<SummaryResult>('p2p/summary', { uri });
    assert.equal(r.version, 1);
    assert.equal(r.errors, 0);
    assert.equal(r.keras?.generator, golden);
    assert.equal(r.generator?.totals.params, 19_303_811);
    assert.equal(r.discriminator?.totals.params, 857_492);
    const unknown = await s.connection.sendRequest<SummaryResult>('p2p/summary', { uri: 'file:///nope.p2p.yaml' });
    assert.equal(unknown.version, null);
  });

  it('puts totals in code lenses and shapes in inlay hints', async () => {
    const lenses = await s.connection.sendRequest<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
    assert.equal(lenses.length, 2);
    assert.equal(lenses[0].range.start.line, find(text, 'generator:').line);
    assert.match(lenses[0].command!.title, /Generator: 19,303,811 params/);
    assert.equal(lenses[0].command!.command, 'p2p.showKerasSummary');
    const hints = await s.connection.sendRequest<InlayHint[]>('textDocument/inlayHint', {
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } },
    });
    const levels = hints.find((h) => h.position.line === find(text, 'levels: 7').line);
    assert.equal(levels?.label, 'bottleneck (None, 1, 1, 512) · encoder 8,638,976 params');
  });

  it('lists levels as document symbols', async () => {
    const symbols = await s.connection.sendRequest<DocumentSymbol[]>('textDocument/documentSymbol', {
      textDocument: { uri },
    });
    const generator = symbols.find((x) => x.name === 'generator')!;
    const level3 = generator.children!.find((c) => c.name === 'decoder level 3')!;
    assert.match(level3.detail!, /\(None, 8, 8, 768\) · 2,360,576 params · skip · dropout 0.5/);
  });

  it('updates the numbers when a skip is flipped', async () => {
    const diagnostics = await edit(text.replace('skips: all', 'skips: [1, 2, 3, 4, 5]'));
    assert.deepEqual(diagnostics, []);
    const md = await hoverText('generator:', 2);
    assert.match(md, /Total params: 19,302,083/);
    const flip = await hoverText('5]', 0);
    assert.match(flip, /Removing this skip\*\* \(level 5\): −73,728 params \(19,302,083 → 19,228,355\)/);
  });

  it('reports an out-of-range level with its range and the valid levels', async () => {
    const diagnostics = await edit(text.replace('skips: [1, 2, 3, 4, 5]', 'skips: [1, 2, 9]'));
    assert.equal(diagnostics.length, 1);
    assert.equal(
      diagnostics[0].message,
      '`generator.skips`: level 9 does not exist; this generator has decoder levels 1..6',
    );
    const at = find(text, '9]');
    assert.deepEqual(diagnostics[0].range, { start: at, end: { line: at.line, character: at.character + 1 } });
    assert.equal(diagnostics[0].severity, 1);
  });

  it('offers the quick fix of the diagnostic under the cursor and applies as an edit', async () => {
    const at = find(text, '9]');
    const actions = await s.connection.sendRequest<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: at, end: at },
      context: { diagnostics: [], only: ['quickfix'] },
    });
    assert.deepEqual(
      actions.map((a) => [a.title, a.kind, a.isPreferred]),
      [["Change to '6' (the last decoder level)", 'quickfix', true]],
    );
    const change = actions[0].edit!.changes![uri][0];
    assert.deepEqual(change, {
      range: { start: at, end: { line: at.line, character: at.character + 1 } },
      newText: '6',
    });
    const elsewhere = await s.connection.sendRequest<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      context: { diagnostics: [] },
    });
    assert.deepEqual(elsewhere, []);
  });

  it('completes keys and enumerated values', async () => {
    await edit(text.replace('skips: [1, 2, 9]', 'skips: all').replace('  upsampling: nearest\n', '  upsampling: \n'));
    const values = await s.connection.sendRequest<CompletionItem[]>('textDocument/completion', {
      textDocument: { uri },
      position: find(text, 'upsampling: ', 'upsampling: '.length),
    });
    assert.deepEqual(
      values.map((v) => v.label),
      ['nearest', 'transpose'],
    );
    assert.match((values[1].documentation as MarkupContent).value, /Conv2DTranspose/);
    await edit(text.replace('  upsampling: \n', '  up\n'));
    const keys = await s.connection.sendRequest<CompletionItem[]>('textDocument/completion', {
      textDocument: { uri },
      position: find(text, '  up\n', 4),
    });
    assert.deepEqual(
      keys.map((k) => k.label),
      ['upsampling', 'decoder'],
    );
    // `upsampling` inserts a choice snippet; a key like `skips` goes on to suggest its values once inserted.
    assert.equal(keys[0].command, undefined);
    await edit(text.replace('  up\n', '  upsampling: nearest\n').replace('  skips: all\n', '  sk\n'));
    const skips = await s.connection.sendRequest<CompletionItem[]>('textDocument/completion', {
      textDocument: { uri },
      position: find(text, '  sk\n', 4),
    });
    assert.equal(skips[0].label, 'skips');
    assert.equal(skips[0].command?.command, 'editor.action.triggerSuggest');
  });

  it('survives 1,000 random edits and answers every request', async () => {
    const r = rng(77);
    const junk = [
      '\u0000',
      '{',
      '[',
      ']',
      ':',
      '- ',
      '\n',
      '  ',
      'skips: ',
      '&a ',
      '*a',
      '1e999',
      'levels: 99',
      '\t',
      '"',
      "'",
      '#',
      '\ud800',
    ];
    text = seed;
    for (let i = 0; i < 1000; i++) {
      const at = int(r, 0, text.length);
      const kind = int(r, 0, 3);
      if (kind === 0) text = text.slice(0, at) + text.slice(at + int(r, 1, 30));
      else if (kind === 1) text = text.slice(0, at) + pick(r, junk) + text.slice(at);
      else if (kind === 2) text = text.slice(0, at) + text.slice(at, at + int(r, 1, 50)) + text.slice(at);
      else if (text.length > 4000 || r() < 0.1) text = seed;
      version++;
      s.change(uri, version, text);
      const lines = text.split('\n');
      const line = int(r, 0, lines.length - 1);
      const position = { line, character: int(r, 0, lines[line].length) };
      const [h, c, sym] = await Promise.all([
        s.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position }),
        s.connection.sendRequest<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position }),
        s.connection.sendRequest<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri } }),
      ]);
      assert.ok(h === null || typeof h === 'object');
      assert.ok(Array.isArray(c) && Array.isArray(sym));
    }
    assert.equal(s.child.exitCode, null, 'server still running');
    assert.doesNotMatch(s.stderr(), /failed|uncaught/);
  });

  it('diagnoses empty, non-YAML, binary and 5 MB documents without crashing or hanging', async () => {
    const cases: [string, string, RegExp | null][] = [
      ['empty', '', null],
      ['prose', 'This is not a config. It is prose: with, commas [and brackets.', /./],
      ['binary', Array.from({ length: 4096 }, (_, i) => String.fromCharCode((i * 7919) % 65536)).join(''), /./],
      ['big', `name: big\n${'x: 1\n'.repeat(1_048_576)}`, /document too large: 5,242,890 characters/],
    ];
    for (const [name, body, expected] of cases) {
      const u = `file:///work/${name}.p2p.yaml`;
      const published = s.nextDiagnostics(u);
      const started = Date.now();
      s.open(u, body);
      const { diagnostics } = await published;
      assert.ok(Date.now() - started < 5000, `${name} answered within 5 s`);
      if (expected === null) assert.deepEqual(diagnostics, [], name);
      else
        assert.ok(
          diagnostics.some((d) => expected.test(d.message)),
          `${name}: ${JSON.stringify(diagnostics).slice(0, 300)}`,
        );
      const h = await s.connection.sendRequest('textDocument/hover', {
        textDocument: { uri: u },
        position: { line: 0, character: 1 },
      });
      assert.ok(h === null || typeof h === 'object');
      s.connection.sendNotification('textDocument/didClose', { textDocument: { uri: u } });
    }
  });

  it('shuts down cleanly', async () => {
    assert.equal(await s.close(), 0);
  });
});
