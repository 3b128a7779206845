// Extension host entry. "pix2pix: Show Keras Summary" renders the active config's generator and
// discriminator summaries into a read-only virtual document.

import * as vscode from 'vscode';
import { analyze } from '../core/analysis';
import { kerasSummary } from '../core/kerasSummary';

const SCHEME = 'p2p-summary';

export function activate(context: vscode.ExtensionContext): void {
  const changed = new vscode.EventEmitter<vscode.Uri>();
  context.subscriptions.push(
    changed,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, {
      onDidChange: changed.event,
      async provideTextDocumentContent(uri) {
        const source = vscode.Uri.parse(uri.query);
        const doc = await vscode.workspace.openTextDocument(source);
        return summaryText(doc.getText(), source.fsPath);
      },
    }),
    vscode.commands.registerCommand('p2p.showKerasSummary', async (arg?: vscode.Uri) => {
      const source = arg ?? vscode.window.activeTextEditor?.document.uri;
      if (!source) {
        void vscode.window.showWarningMessage('pix2pix: open a .p2p.yaml file to show its Keras summary.');
        return;
      }
      const uri = vscode.Uri.from({ scheme: SCHEME, path: `${source.path}.summary.txt`, query: source.toString() });
      changed.fire(uri);
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    }),
  );
}

export function summaryText(text: string, file: string): string {
  const a = analyze(text);
  if (!a.generator || !a.discriminator) {
    const errors = a.diagnostics.filter((d) => d.severity === 'error');
    return `${file} has ${errors.length} error(s):\n${errors.map((d) => `  ${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`).join('\n')}\n`;
  }
  return `Generator (${a.generator.name})\n${kerasSummary(a.generator)}\nDiscriminator (${a.discriminator.name})\n${kerasSummary(a.discriminator)}`;
}

export function deactivate(): void {}
