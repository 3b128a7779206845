// A minimal LSP client over stdio to the real bundled server (dist/server.js), for integration tests and bench.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';

export const serverPath = join(__dirname, '..', '..', 'dist', 'server.js');

export interface LspSession {
  connection: ProtocolConnection;
  child: ChildProcess;
  stderr: () => string;
  /** Resolves with the next diagnostics published for `uri` (optionally at `version`). */
  nextDiagnostics(uri: string, version?: number): Promise<PublishDiagnosticsParams>;
  open(uri: string, text: string, version?: number): void;
  change(uri: string, version: number, text: string): void;
  close(): Promise<number | null>;
}

export async function startServer(): Promise<LspSession> {
  const child = spawn(process.execPath, [serverPath, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const connection = createProtocolConnection(
    new StreamMessageReader(child.stdout!),
    new StreamMessageWriter(child.stdin!),
  );
  const waiters: { uri: string; version?: number; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i];
      if (w.uri === p.uri && (w.version === undefined || w.version === p.version)) {
        waiters.splice(i, 1);
        w.resolve(p);
        return;
      }
    }
  });
  connection.onNotification('window/logMessage', () => {});
  connection.listen();
  await connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  connection.sendNotification('initialized', {});
  return {
    connection,
    child,
    stderr: () => err,
    nextDiagnostics: (uri, version) => new Promise((resolve) => waiters.push({ uri, version, resolve })),
    open: (uri, text, version = 1) =>
      connection.sendNotification('textDocument/didOpen', {
        textDocument: { uri, languageId: 'p2p-yaml', version, text },
      }),
    change: (uri, version, text) =>
      connection.sendNotification('textDocument/didChange', {
        textDocument: { uri, version },
        contentChanges: [{ text }],
      }),
    close: async () => {
      await connection.sendRequest('shutdown');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      connection.sendNotification('exit');
      const code = await exited;
      connection.dispose();
      return code;
    },
  };
}
