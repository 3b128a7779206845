// Custom LSP methods of the p2p language server, shared by the server and every client.

import { RequestType } from 'vscode-languageserver-protocol';
import type { Diagnostic } from '../core/diagnostics';
import type { ModelGraph } from '../core/graph';

export interface SummaryParams {
  uri: string;
}

export interface SummaryResult {
  uri: string;
  /** Document version the result was computed from; null for a document the server does not hold. */
  version: number | null;
  errors: number;
  warnings: number;
  diagnostics: Diagnostic[];
  generator?: ModelGraph;
  discriminator?: ModelGraph;
  /** The Keras `model.summary()` texts, present with the graphs. */
  keras?: { generator: string; discriminator: string };
  /** The server failed to analyse the document (its log has the stack); the other fields are empty. */
  failure?: string;
}

/** client -> server: the graph and Keras summary of an open config. */
export const SummaryRequest = new RequestType<SummaryParams, SummaryResult, void>('p2p/summary');
