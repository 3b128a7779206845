// The p2p language server: LSP transport around the language service. Handlers translate positions and call
// the service; a missing document gives an empty result, and no handler error ever ends the process.
// Standalone: node dist/server.js --stdio

import {
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
  type Connection,
  type Diagnostic as LspDiagnostic,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { analyze, type Analysis } from '../core/analysis';
import { kerasSummary } from '../core/kerasSummary';
import { SummaryRequest, type SummaryResult } from '../protocol/lsp';
import { complete } from './service/completion';
import { hover } from './service/hover';
import { codeLenses, documentSymbols, inlayHints, type OutlineSymbol } from './service/outline';

const DIAGNOSTICS_DELAY_MS = 150;

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const cache = new Map<string, { version: number; analysis: Analysis }>();
  const timers = new Map<string, NodeJS.Timeout>();

  const analysisOf = (uri: string): Analysis | undefined => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    const hit = cache.get(uri);
    if (hit && hit.version === doc.version) return hit.analysis;
    const analysis = analyze(doc.getText(), configName(doc.uri));
    cache.set(uri, { version: doc.version, analysis });
    return analysis;
  };

  /** Runs a handler; errors are logged and answered with the fallback so the server stays up. */
  const safe =
    <P, R>(name: string, fallback: R, fn: (params: P) => R) =>
    (params: P): R => {
      try {
        return fn(params);
      } catch (e) {
        connection.console.error(`${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        return fallback;
      }
    };

  const publish = (uri: string) => {
    const analysis = analysisOf(uri);
    if (!analysis) return;
    const diagnostics: LspDiagnostic[] = analysis.diagnostics.map((d) => ({
      range: d.range,
      severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      code: d.code,
      source: 'p2p',
      message: d.message,
    }));
    void connection.sendDiagnostics({ uri, version: documents.get(uri)?.version, diagnostics });
  };

  const schedule = (uri: string, delay: number) => {
    clearTimeout(timers.get(uri));
    timers.set(
      uri,
      setTimeout(() => {
        timers.delete(uri);
        safe('diagnostics', undefined, publish)(uri);
      }, delay),
    );
  };

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      completionProvider: { triggerCharacters: [':', ' ', '{', ',', '[', '-'] },
      codeLensProvider: { resolveProvider: false },
      inlayHintProvider: true,
      documentSymbolProvider: true,
    },
    serverInfo: { name: 'p2p-language-server', version: '0.1.0' },
  }));

  documents.onDidOpen((e) => schedule(e.document.uri, 0));
  documents.onDidChangeContent((e) => schedule(e.document.uri, DIAGNOSTICS_DELAY_MS));
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    timers.delete(e.document.uri);
    cache.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  connection.onHover(
    safe('hover', null, (params) => {
      const doc = documents.get(params.textDocument.uri);
      const analysis = analysisOf(params.textDocument.uri);
      if (!doc || !analysis) return null;
      const h = hover(analysis, doc.offsetAt(params.position));
      if (!h) return null;
      return {
        contents: { kind: MarkupKind.Markdown, value: h.markdown },
        range: { start: doc.positionAt(h.span[0]), end: doc.positionAt(h.span[1]) },
      };
    }),
  );

  connection.onCompletion(
    safe('completion', [] as CompletionItem[], (params) => {
      const doc = documents.get(params.textDocument.uri);
      const analysis = analysisOf(params.textDocument.uri);
      if (!doc || !analysis) return [];
      return complete(analysis, doc.offsetAt(params.position)).map((c) => ({
        label: c.label,
        kind: c.kind === 'key' ? CompletionItemKind.Property : CompletionItemKind.EnumMember,
        detail: c.detail,
        documentation: { kind: MarkupKind.Markdown, value: c.documentation },
        insertText: c.insertText,
        insertTextFormat: InsertTextFormat.Snippet,
        sortText: c.sortText,
      }));
    }),
  );

  connection.onCodeLens(
    safe('codeLens', [] as CodeLens[], (params) => {
      const analysis = analysisOf(params.textDocument.uri);
      if (!analysis) return [];
      return codeLenses(analysis).map((l) => ({
        range: l.range,
        command:
          l.part === 'ablation'
            ? { title: l.title, command: 'p2p.runAblation', arguments: [params.textDocument.uri] }
            : { title: l.title, command: 'p2p.showKerasSummary', arguments: [params.textDocument.uri, l.part] },
      }));
    }),
  );

  connection.languages.inlayHint.on(
    safe('inlayHint', [] as InlayHint[], (params) => {
      const analysis = analysisOf(params.textDocument.uri);
      if (!analysis) return [];
      return inlayHints(analysis)
        .filter((h) => h.position.line >= params.range.start.line && h.position.line <= params.range.end.line)
        .map((h) => ({ position: h.position, label: h.label, tooltip: h.tooltip, paddingLeft: true }));
    }),
  );

  const symbolKind: Record<OutlineSymbol['kind'], SymbolKind> = {
    module: SymbolKind.Module,
    object: SymbolKind.Object,
    property: SymbolKind.Property,
    array: SymbolKind.Array,
    layer: SymbolKind.Class,
  };
  const toSymbol = (s: OutlineSymbol): DocumentSymbol => ({
    name: s.name,
    detail: s.detail,
    kind: symbolKind[s.kind],
    range: s.range,
    selectionRange: s.selectionRange,
    children: s.children.map(toSymbol),
  });
  connection.onDocumentSymbol(
    safe('documentSymbol', [] as DocumentSymbol[], (params) => {
      const analysis = analysisOf(params.textDocument.uri);
      return analysis ? documentSymbols(analysis).map(toSymbol) : [];
    }),
  );

  connection.onRequest(
    SummaryRequest,
    safe('p2p/summary', null as unknown as SummaryResult, (params): SummaryResult => {
      const analysis = analysisOf(params.uri);
      if (!analysis) return { uri: params.uri, version: null, errors: 0, warnings: 0, diagnostics: [] };
      const errors = analysis.diagnostics.filter((d) => d.severity === 'error').length;
      const { generator, discriminator } = analysis;
      return {
        uri: params.uri,
        version: documents.get(params.uri)?.version ?? null,
        errors,
        warnings: analysis.diagnostics.length - errors,
        diagnostics: analysis.diagnostics,
        generator,
        discriminator,
        keras:
          generator && discriminator
            ? { generator: kerasSummary(generator), discriminator: kerasSummary(discriminator) }
            : undefined,
      };
    }),
  );

  documents.listen(connection);
  connection.listen();
}

if (require.main === module) {
  const connection = createConnection(ProposedFeatures.all);
  process.on('uncaughtException', (e) => connection.console.error(`uncaught: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => connection.console.error(`unhandled rejection: ${String(e)}`));
  startServer(connection);
}

/** `file:///x/seed.p2p.yaml` -> `seed`: a config's default name, as the trainer derives it. */
function configName(uri: string): string {
  const last = decodeURIComponent(uri.split(/[\\/]/).pop() ?? 'config');
  return last.replace(/\.p2p\.ya?ml$/, '') || 'config';
}
