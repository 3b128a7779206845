// Runs inside VS Code's extension host (see runTest.ts): the extension's features through the VS Code API.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function run(): Promise<void> {
  const file = vscode.Uri.file(join(__dirname, '..', '..', 'examples', 'seed.p2p.yaml'));
  const doc = await vscode.workspace.openTextDocument(file);
  assert.equal(doc.languageId, 'p2p-yaml');
  const editor = await vscode.window.showTextDocument(doc);
  const line = doc
    .getText()
    .split('\n')
    .findIndex((l) => l.includes('dropout:'));
  const position = new vscode.Position(line, doc.lineAt(line).text.indexOf('3]'));
  const text = await waitFor(async () => {
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, position);
    const md = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    return md.includes('unet_upconv2D_3') ? md : undefined;
  }, 'the decoder level 3 hover');
  assert.match(text, /\(None, 8, 8, 256\) \| 2,359,552/);

  await editor.edit((e) =>
    e.replace(
      doc.lineAt(
        doc
          .getText()
          .split('\n')
          .findIndex((l) => l.includes('skips:')),
      ).range,
      '  skips: [1, 9]',
    ),
  );
  const diagnostics = await waitFor(async () => {
    const d = vscode.languages.getDiagnostics(file);
    return d.length ? d : undefined;
  }, 'diagnostics');
  assert.match(diagnostics[0].message, /level 9 does not exist; this generator has decoder levels 1..6/);
  await vscode.commands.executeCommand('workbench.action.files.revert');

  await vscode.commands.executeCommand('p2p.showKerasSummary', file);
  const summary = await waitFor(
    async () => vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'p2p-summary'),
    'the summary document',
  );
  assert.match(summary.document.getText(), /Total params: 19,303,811/);
}
