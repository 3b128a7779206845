// The Welcome page's walkthrough (package.json `contributes.walkthroughs`): its steps complete on commands run
// (`onCommand:`) and on the context keys set here (`onContext:`): a config opened, a hover read, a config edited.
// `p2p.openExample` copies an example the extension ships into the workspace and opens it there, so that what the
// walkthrough has people edit and train is theirs, not the installed extension's.

import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { WALKTHROUGH_CONTEXT, WALKTHROUGH_EXAMPLES, type WalkthroughKey } from './walkthroughKeys';

/** Sets a walkthrough context key (a no-op after the first time). */
export function markWalkthrough(key: WalkthroughKey): void {
  if (marked.has(key)) return;
  marked.add(key);
  void vscode.commands.executeCommand('setContext', key, true);
}
const marked = new Set<string>();

/** Where an example goes: the first workspace folder, or the extension's storage when no folder is open. */
function exampleTarget(storage: vscode.Uri, name: string): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? storage.fsPath;
  return path.join(folder, `${name}.p2p.yaml`);
}

/** `p2p.openExample` and the listeners that set the context keys. */
export function registerWalkthrough(context: vscode.ExtensionContext, languageId: string): vscode.Disposable[] {
  const isConfig = (doc: vscode.TextDocument) => doc.languageId === languageId;
  const active = vscode.window.activeTextEditor;
  if (active && isConfig(active.document)) markWalkthrough(WALKTHROUGH_CONTEXT.opened);
  return [
    vscode.commands.registerCommand('p2p.openExample', async (name?: string) => {
      const example = WALKTHROUGH_EXAMPLES.find((e) => e === name) ?? 'seed';
      const target = exampleTarget(context.globalStorageUri, example);
      if (!existsSync(target)) {
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(context.asAbsolutePath(path.join('examples', `${example}.p2p.yaml`)), target);
      }
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(target), { preview: false });
    }),
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      if (editor && isConfig(editor.document)) markWalkthrough(WALKTHROUGH_CONTEXT.opened);
    }),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (isConfig(e.document) && e.contentChanges.length) markWalkthrough(WALKTHROUGH_CONTEXT.edited);
    }),
  ];
}
