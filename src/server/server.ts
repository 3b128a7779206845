// The p2p language server: LSP transport around the language service. Handlers translate positions and call
// the service; a missing document gives an empty result, and no handler error ever ends the process.
// Standalone: node dist/server.js --stdio

import {
  CodeAction,
  CodeActionKind,
  CodeLens,
  CompletionItem,
  CompletionItemKind,
  createConnection,
  DiagnosticSeverity,
  DocumentSymbol,
  InlayHint,
  InsertTextFormat,
  MarkupKind,
  ProposedFeatures,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  type CodeActionParams,
  type CodeLensParams,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type DocumentSymbolParams,
  type Hover,
  type InitializeResult,
  type InlayHintParams,
  type TextDocumentPositionParams,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { analyze, type Analysis } from '../core/analysis';
import { configNameOf } from '../core/modelPlan';
import type { Position, Range, Severity } from '../core/diagnostics';
import { kerasSummary } from '../core/kerasSummary';
import { SummaryRequest, type SummaryParams, type SummaryResult } from '../protocol/lsp';
import { complete } from './service/completion';
import { hover } from './service/hover';
import { codeLenses, documentSymbols, inlayHints, type OutlineSymbol } from './service/outline';

const DIAGNOSTICS_DELAY_MS = 150;

const SYMBOL_KIND: Record<OutlineSymbol['kind'], SymbolKind> = {
  module: SymbolKind.Module,
  object: SymbolKind.Object,
  property: SymbolKind.Property,
  array: SymbolKind.Array,
  layer: SymbolKind.Class,
};

/** One short handler per request, wired by `registerHandlers` (as yaml-language-server does). */
class P2pServer {
  private readonly documents = new TextDocuments(TextDocument);
  private readonly cache = new Map<string, { version: number; analysis: Analysis }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly connection: Connection) {}

  registerHandlers(): void {
    const c = this.connection;
    c.onInitialize(() => this.initialize());
    this.documents.onDidOpen((e) => this.schedule(e.document.uri, 0));
    this.documents.onDidChangeContent((e) => this.schedule(e.document.uri, DIAGNOSTICS_DELAY_MS));
    this.documents.onDidClose((e) => this.close(e.document.uri));
    c.onHover(this.safe('hover', null, (p) => this.hover(p)));
    c.onCompletion(this.safe('completion', [] as CompletionItem[], (p) => this.completion(p)));
    c.onCodeLens(this.safe('codeLens', [] as CodeLens[], (p) => this.codeLens(p)));
    c.onCodeAction(this.safe('codeAction', [] as CodeAction[], (p) => this.codeAction(p)));
    c.languages.inlayHint.on(this.safe('inlayHint', [] as InlayHint[], (p) => this.inlayHint(p)));
    c.onDocumentSymbol(this.safe('documentSymbol', [] as DocumentSymbol[], (p) => this.documentSymbol(p)));
    c.onRequest(SummaryRequest, (p) => this.summary(p));
  }

  listen(): void {
    this.documents.listen(this.connection);
    this.connection.listen();
  }

  private initialize(): InitializeResult {
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: [':', ' ', '{', ',', '[', '-'] },
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        inlayHintProvider: true,
        documentSymbolProvider: true,
      },
      serverInfo: { name: 'p2p-language-server', version: '0.2.0' },
    };
  }

  private analysisOf(uri: string): Analysis | undefined {
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    const hit = this.cache.get(uri);
    if (hit && hit.version === doc.version) return hit.analysis;
    const analysis = analyze(doc.getText(), configName(doc.uri));
    this.cache.set(uri, { version: doc.version, analysis });
    return analysis;
  }

  /** Runs a handler; errors are logged and answered with the fallback so the server stays up. */
  private safe<P, R>(name: string, fallback: R, fn: (params: P) => R): (params: P) => R {
    return (params) => {
      try {
        return fn(params);
      } catch (e) {
        this.logFailure(name, e);
        return fallback;
      }
    };
  }

  private logFailure(name: string, e: unknown): void {
    this.connection.console.error(`${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }

  private schedule(uri: string, delay: number): void {
    clearTimeout(this.timers.get(uri));
    const publish = () => {
      this.timers.delete(uri);
      this.safe('diagnostics', undefined, (u: string) => this.publish(u))(uri);
    };
    this.timers.set(uri, setTimeout(publish, delay));
  }

  private publish(uri: string): void {
    const analysis = this.analysisOf(uri);
    if (!analysis) return;
    const diagnostics: LspDiagnostic[] = analysis.diagnostics.map((d) => ({
      range: d.range,
      severity: lspSeverity(d.severity),
      code: d.code,
      source: 'p2p',
      message: d.message,
    }));
    void this.connection.sendDiagnostics({ uri, version: this.documents.get(uri)?.version, diagnostics });
  }

  private close(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    this.cache.delete(uri);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  private hover(params: TextDocumentPositionParams): Hover | null {
    const doc = this.documents.get(params.textDocument.uri);
    const analysis = this.analysisOf(params.textDocument.uri);
    if (!doc || !analysis) return null;
    const h = hover(analysis, doc.offsetAt(params.position));
    if (!h) return null;
    return {
      contents: { kind: MarkupKind.Markdown, value: h.markdown },
      range: { start: doc.positionAt(h.span[0]), end: doc.positionAt(h.span[1]) },
    };
  }

  private completion(params: TextDocumentPositionParams): CompletionItem[] {
    const doc = this.documents.get(params.textDocument.uri);
    const analysis = this.analysisOf(params.textDocument.uri);
    if (!doc || !analysis) return [];
    return complete(analysis, doc.offsetAt(params.position)).map((c) => ({
      label: c.label,
      kind: c.kind === 'key' ? CompletionItemKind.Property : CompletionItemKind.EnumMember,
      detail: c.detail,
      documentation: { kind: MarkupKind.Markdown, value: c.documentation },
      insertText: c.insertText,
      insertTextFormat: InsertTextFormat.Snippet,
      sortText: c.sortText,
      // A key whose values can be listed goes on to list them, as if Ctrl+Space were pressed after `key: `.
      ...(c.suggestValues ? { command: { title: 'Suggest values', command: 'editor.action.triggerSuggest' } } : {}),
    }));
  }

  private codeLens(params: CodeLensParams): CodeLens[] {
    const uri = params.textDocument.uri;
    const analysis = this.analysisOf(uri);
    if (!analysis) return [];
    return codeLenses(analysis).map((l) => ({
      range: l.range,
      command:
        l.part === 'ablation'
          ? { title: l.title, tooltip: l.tooltip, command: 'p2p.runAblation', arguments: [uri] }
          : { title: l.title, tooltip: l.tooltip, command: 'p2p.showKerasSummary', arguments: [uri, l.part] },
    }));
  }

  /** Quick fixes: each fix of a diagnostic that touches the requested range, as an edit of the diagnostic's range. */
  private codeAction(params: CodeActionParams): CodeAction[] {
    const uri = params.textDocument.uri;
    const analysis = this.analysisOf(uri);
    if (!analysis) return [];
    const only = params.context.only;
    if (only && !only.some((k) => CodeActionKind.QuickFix.startsWith(k))) return [];
    return analysis.diagnostics
      .filter((d) => d.fixes && touches(d.range, params.range))
      .flatMap((d) =>
        d.fixes!.map((f) => ({
          title: f.title,
          kind: CodeActionKind.QuickFix,
          isPreferred: f.preferred,
          diagnostics: [
            { range: d.range, severity: lspSeverity(d.severity), code: d.code, source: 'p2p', message: d.message },
          ],
          edit: { changes: { [uri]: [{ range: d.range, newText: f.newText }] } },
        })),
      );
  }

  private inlayHint(params: InlayHintParams): InlayHint[] {
    const analysis = this.analysisOf(params.textDocument.uri);
    if (!analysis) return [];
    const { start, end } = params.range;
    return inlayHints(analysis)
      .filter((h) => h.position.line >= start.line && h.position.line <= end.line)
      .map((h) => ({ position: h.position, label: h.label, tooltip: h.tooltip, paddingLeft: true }));
  }

  private documentSymbol(params: DocumentSymbolParams): DocumentSymbol[] {
    const analysis = this.analysisOf(params.textDocument.uri);
    return analysis ? documentSymbols(analysis).map(toSymbol) : [];
  }

  /** The graphs and Keras summaries of an open config; a failure is a result that says so, never null. */
  private summary(params: SummaryParams): SummaryResult {
    const unknown = { uri: params.uri, version: null, errors: 0, warnings: 0, diagnostics: [] };
    try {
      const analysis = this.analysisOf(params.uri);
      if (!analysis) return unknown;
      const errors = analysis.diagnostics.filter((d) => d.severity === 'error').length;
      const { generator, discriminator } = analysis;
      const keras =
        generator && discriminator
          ? { generator: kerasSummary(generator), discriminator: kerasSummary(discriminator) }
          : undefined;
      const version = this.documents.get(params.uri)?.version ?? null;
      const warnings = analysis.diagnostics.length - errors;
      return {
        ...unknown,
        version,
        errors,
        warnings,
        diagnostics: analysis.diagnostics,
        generator,
        discriminator,
        keras,
      };
    } catch (e) {
      this.logFailure('p2p/summary', e);
      return { ...unknown, failure: e instanceof Error ? e.message : String(e) };
    }
  }
}

const lspSeverity = (s: Severity) => (s === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning);

/** Whether two ranges overlap or touch (a cursor at either end of a diagnostic counts). */
function touches(a: Range, b: Range): boolean {
  const before = (p: Position, q: Position) => p.line < q.line || (p.line === q.line && p.character < q.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

function toSymbol(s: OutlineSymbol): DocumentSymbol {
  return {
    name: s.name,
    detail: s.detail,
    kind: SYMBOL_KIND[s.kind],
    range: s.range,
    selectionRange: s.selectionRange,
    children: s.children.map(toSymbol),
  };
}

function startServer(connection: Connection): void {
  const server = new P2pServer(connection);
  server.registerHandlers();
  server.listen();
}

if (require.main === module) {
  const connection = createConnection(ProposedFeatures.all);
  process.on('uncaughtException', (e) => connection.console.error(`uncaught: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => connection.console.error(`unhandled rejection: ${String(e)}`));
  startServer(connection);
}

/** `file:///x/seed.p2p.yaml` -> `seed`: a config's default name, as the trainer derives it. */
const configName = (uri: string) => configNameOf(decodeURIComponent(uri));
