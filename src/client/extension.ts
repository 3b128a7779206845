// Extension host entry: starts the p2p language server for `*.p2p.yaml`, shows Keras summaries in a read-only
// virtual document and the active config's parameter count in the status bar.

import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { describeErrors } from '../core/diagnostics';
import { count } from '../core/units';
import { SummaryRequest, type SummaryResult } from '../protocol/lsp';
import { RunsPanel } from './runsPanel';
import { trainerPathOf } from './settings';
import { TrainingController } from './training';
import { Translations } from './translations';
import { installCudaBackend } from './tensorflowInstall';
import { markWalkthrough, registerWalkthrough } from './walkthrough';
import { WALKTHROUGH_CONTEXT } from './walkthroughKeys';

const LANGUAGE_ID = 'p2p-yaml';
const SUMMARY_SCHEME = 'p2p-summary';

let client: LanguageClient | undefined;
let training: TrainingController | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('pix2pix', { log: true });
  client = await startLanguageClient(context, output);
  const lsp = client;
  const trainer = new TrainingController(context.extensionPath, lsp, output);
  training = trainer;
  const translations = new Translations(trainerPathOf(context.extensionPath), () => trainer.runsRoot());
  const panel = new RunsPanel(context.extensionUri, trainer, translations);
  const summaries = new SummaryDocuments(lsp);
  context.subscriptions.push(
    output,
    summaries,
    new ParamsStatus(lsp),
    training,
    panel,
    vscode.workspace.registerTextDocumentContentProvider(SUMMARY_SCHEME, summaries),
    ...registerCommands(training, panel, summaries),
    ...registerWalkthrough(context, LANGUAGE_ID),
    vscode.commands.registerCommand('p2p.installCudaBackend', () =>
      installCudaBackend(context.globalStorageUri, output),
    ),
    vscode.commands.registerCommand('p2p.translateImage', async () => {
      const picked = await translations.pick();
      if (!picked) return;
      panel.showTab('compare');
      await panel.translate(picked.runs, picked.images);
    }),
  );
}

async function startLanguageClient(context: vscode.ExtensionContext, output: vscode.LogOutputChannel) {
  const serverModule = context.asAbsolutePath(path.join('dist', 'server.js'));
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: {
      module: serverModule,
      transport: TransportKind.ipc,
      options: { execArgv: ['--nolazy', '--inspect=6019'] },
    },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: LANGUAGE_ID }],
    outputChannel: output,
    middleware: {
      // A hover shown completes the walkthrough's "Read a hover" step.
      provideHover: async (document, position, token, next) => {
        const hover = await next(document, position, token);
        if (hover) markWalkthrough(WALKTHROUGH_CONTEXT.hovered);
        return hover;
      },
    },
  };
  // The id `p2p` makes the client read the `p2p.trace.server` setting.
  const lsp = new LanguageClient('p2p', 'pix2pix Language Server', serverOptions, clientOptions);
  await lsp.start();
  return lsp;
}

function registerCommands(trainer: TrainingController, panel: RunsPanel, summaries: SummaryDocuments) {
  const uriOf = (arg?: vscode.Uri | string) => (typeof arg === 'string' ? vscode.Uri.parse(arg) : arg);
  return [
    // The panel opens (p2p.panel.openOnTrain) when a training starts, never for one that is refused.
    vscode.commands.registerCommand('p2p.trainCurrentConfig', (uri?: vscode.Uri) => trainer.trainCurrent(uri)),
    vscode.commands.registerCommand('p2p.runAblation', (arg?: vscode.Uri | string) => trainer.ablate(uriOf(arg))),
    vscode.commands.registerCommand('p2p.cancelAblation', (dir?: string) =>
      trainer.cancelAblation(typeof dir === 'string' ? dir : undefined),
    ),
    vscode.commands.registerCommand('p2p.stopTraining', () => trainer.stop()),
    vscode.commands.registerCommand('p2p.resumeRun', (dir?: string) =>
      trainer.resume(typeof dir === 'string' ? dir : undefined),
    ),
    vscode.commands.registerCommand('p2p.openRunsPanel', () => panel.show()),
    vscode.commands.registerCommand('p2p.showKerasSummary', async (arg?: vscode.Uri | string) => {
      const source = uriOf(arg) ?? vscode.window.activeTextEditor?.document.uri;
      if (!source) {
        void vscode.window.showWarningMessage('pix2pix: open a .p2p.yaml file to show its Keras summary.');
        return;
      }
      const doc = await vscode.workspace.openTextDocument(summaries.uriFor(source));
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    }),
  ];
}

export async function deactivate(): Promise<void> {
  // Checkpoint a running training first: VS Code gives deactivate about 5 s.
  await training?.shutdown();
  await client?.stop();
  client = undefined;
}

/** `p2p-summary:` documents: the Keras summaries of a config, refreshed when it changes. */
class SummaryDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly open = new Map<string, vscode.Uri>();
  private readonly listener: vscode.Disposable;

  constructor(private readonly lsp: LanguageClient) {
    this.listener = vscode.workspace.onDidChangeTextDocument((e) => {
      const uri = this.open.get(e.document.uri.toString());
      if (uri) this.changed.fire(uri);
    });
  }

  uriFor(source: vscode.Uri): vscode.Uri {
    const uri = vscode.Uri.from({
      scheme: SUMMARY_SCHEME,
      path: `${source.path}.summary.txt`,
      query: source.toString(),
    });
    this.open.set(source.toString(), uri);
    return uri;
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const source = vscode.Uri.parse(uri.query);
    await vscode.workspace.openTextDocument(source); // the server holds only open documents
    const r = await this.lsp.sendRequest(SummaryRequest, { uri: source.toString() });
    return renderSummary(r, source);
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}

function renderSummary(r: SummaryResult, source: vscode.Uri): string {
  const name = path.basename(source.fsPath);
  if (r.failure) return `${name}: the language server could not read it: ${r.failure}\n`;
  if (!r.keras || !r.generator || !r.discriminator) {
    return `${describeErrors(name, r.diagnostics)}\nno summary until they are fixed\n`;
  }
  const totals = (title: string, g: NonNullable<SummaryResult['generator']>) =>
    `${title} ${g.name}: ${count(g.totals.params)} params (${count(g.totals.trainableParams)} trainable, ${count(g.totals.nonTrainableParams)} non-trainable)`;
  return [
    `Keras summaries of ${name}`,
    totals('Generator', r.generator),
    totals('Discriminator', r.discriminator),
    '',
    `Generator: ${r.generator.name}`,
    r.keras.generator,
    `Discriminator: ${r.discriminator.name}`,
    r.keras.discriminator,
  ].join('\n');
}

/** Status bar item with the active config's total parameters. */
class ParamsStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('p2p.params', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly lsp: LanguageClient) {
    this.item.name = 'pix2pix parameters';
    this.item.command = 'p2p.showKerasSummary';
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.refresh(0)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) this.refresh(300);
      }),
    );
    this.refresh(0);
  }

  private refresh(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.update(), delay);
  }

  private async update(): Promise<void> {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || doc.languageId !== LANGUAGE_ID) {
      this.item.hide();
      return;
    }
    try {
      const r = await this.lsp.sendRequest(SummaryRequest, { uri: doc.uri.toString() });
      if (r.generator && r.discriminator) {
        const g = r.generator.totals;
        this.item.text = `$(symbol-class) G ${count(g.params)} · D ${count(r.discriminator.totals.params)} params`;
        this.item.tooltip =
          `Generator: ${count(g.params)} params ` +
          `(${count(g.trainableParams)} trainable, ${count(g.nonTrainableParams)} non-trainable)\n` +
          `Discriminator: ${count(r.discriminator.totals.params)} params\n` +
          'Click for the Keras summary';
      } else {
        this.item.text = `$(error) ${r.errors} error${r.errors === 1 ? '' : 's'}`;
        this.item.tooltip = 'The config has errors: see the Problems panel';
      }
      this.item.show();
    } catch {
      this.item.hide();
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.item.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
