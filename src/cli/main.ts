// `p2p`: the command line over the core. Every command takes its I/O as parameters so tests can run it in-process.

import { analyze } from '../core/analysis';
import { errorCount, formatDiagnostic } from '../core/diagnostics';
import { kerasSummary } from '../core/kerasSummary';

export interface CliIO {
  readFile(path: string): string;
  stdout(text: string): void;
  stderr(text: string): void;
}

const USAGE = `usage:
  p2p summary FILE [--format keras|json] [--part generator|discriminator]
  p2p check FILE...
  p2p train FILE [--backend auto|tensorflow|webgpu|webgpu-tfjs|wasm|cpu] [--steps N] [--out DIR]
  p2p train --resume RUNDIR [--steps N]
  p2p ablate FILE [--backend B] [--steps N] [--parallel N] [--executor local|slurm] [--out DIR]
  p2p ablate FILE --status|--cancel [--out DIR]
  p2p export RUN [--step N] --format onnx|pytorch|tfjs [--out DIR]
  p2p translate RUN... --image FILE|DIR [--step N] [--out DIR] [--neighbours]
  p2p evaluate RUN [--all | --step N] [--backend B]
  p2p probe RUN [--step N] [--skips] [--backend B]
`;

/** `examples/seed.p2p.yaml:12:5: error: ...` (1-based line and column, as compilers print them). */
interface Parsed {
  positional: string[];
  options: Map<string, string>;
}

function parseArgs(args: readonly string[], allowed: Record<string, readonly string[]>): Parsed | string {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [flag, inline] = a.slice(2).split('=', 2);
    if (!(flag in allowed)) return `unknown option --${flag}`;
    const value = inline ?? args[++i];
    if (value === undefined) return `--${flag} needs a value: ${allowed[flag].join('|')}`;
    if (!allowed[flag].includes(value)) return `--${flag}: expected ${allowed[flag].join('|')}, found ${value}`;
    options.set(flag, value);
  }
  return { positional, options };
}

function read(io: CliIO, file: string): string | undefined {
  try {
    return io.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    io.stderr(`p2p: cannot read ${file}: ${why}\n`);
    return undefined;
  }
}

export function runCli(argv: readonly string[], io: CliIO): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout)(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'summary') {
    const args = parseArgs(rest, { format: ['keras', 'json'], part: ['generator', 'discriminator'] });
    if (typeof args === 'string' || args.positional.length !== 1) {
      io.stderr(`p2p summary: ${typeof args === 'string' ? args : 'expected one FILE'}\n${USAGE}`);
      return 2;
    }
    const file = args.positional[0];
    const text = read(io, file);
    if (text === undefined) return 2;
    const analysis = analyze(text);
    const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
    for (const d of analysis.diagnostics) io.stderr(formatDiagnostic(file, d) + '\n');
    const graph = args.options.get('part') === 'discriminator' ? analysis.discriminator : analysis.generator;
    if (errors.length || !graph) {
      io.stderr(`p2p: ${file} has ${errorCount(errors.length)}; no summary\n`);
      return 1;
    }
    io.stdout(args.options.get('format') === 'json' ? JSON.stringify(graph, null, 2) + '\n' : kerasSummary(graph));
    return 0;
  }
  if (command === 'check') {
    const args = parseArgs(rest, {});
    if (typeof args === 'string' || args.positional.length === 0) {
      io.stderr(`p2p check: ${typeof args === 'string' ? args : 'expected FILE...'}\n${USAGE}`);
      return 2;
    }
    let status = 0;
    for (const file of args.positional) {
      const text = read(io, file);
      if (text === undefined) {
        status = 2;
        continue;
      }
      const { diagnostics } = analyze(text);
      for (const d of diagnostics) io.stdout(formatDiagnostic(file, d) + '\n');
      const errors = diagnostics.filter((d) => d.severity === 'error').length;
      const warnings = diagnostics.length - errors;
      if (errors) status = Math.max(status, 1);
      if (!diagnostics.length) io.stdout(`${file}: ok\n`);
      else
        io.stdout(
          `${file}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`,
        );
    }
    return status;
  }
  io.stderr(`p2p: unknown command ${command}\n${USAGE}`);
  return 2;
}
