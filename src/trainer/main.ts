// The training process (dist/trainer.js), forked by src/host/trainerProcess.ts for the editor, the sweep queue and
// `p2p train`:
//   node dist/trainer.js --config FILE [--out DIR | --run-dir DIR] [--base-dir DIR] [--backend B] [--steps N]
//                        [--builtin-root DIR]
//   node dist/trainer.js --resume RUNDIR [--steps N] [--backend B]
//   node dist/trainer.js --translate '{"runs": [...], "images": [...], "out": DIR, "step"?: N}' (src/trainer/translate.ts)
//   node dist/trainer.js --evaluate '{"run": RUNDIR, "all"?: true, "step"?: N}' (src/trainer/evaluateRun.ts)
//   node dist/trainer.js --probe '{"run": RUNDIR, "step"?: N}' (src/trainer/probe.ts)
// Events go over IPC (when forked; else one JSON line each on stdout) and into RUNDIR/events.jsonl. A `stop`
// message, SIGTERM, SIGINT, SIGHUP or the host going away writes a checkpoint and ends the run cleanly, with a
// `finished` event that says why.

import type { Backend } from '../core/config';
import { positiveInteger } from '../core/units';
import type { TrainerCommand, TrainerEvent } from '../protocol/trainer';
import { runTrainer, type TrainerArgs } from './run';
import { runEvaluate } from './evaluateRun';
import { runProbe } from './probe';
import { runTranslate } from './translate';

const USAGE =
  'usage: trainer.js --config FILE [--out DIR | --run-dir DIR] [--base-dir DIR] [--backend B] [--steps N] [--builtin-root DIR]\n' +
  '       trainer.js --resume RUNDIR [--steps N] [--backend B]';

const FLAGS: Record<string, keyof TrainerArgs> = {
  '--config': 'config',
  '--resume': 'resume',
  '--out': 'out',
  '--backend': 'backend',
  '--steps': 'steps',
  '--builtin-root': 'builtinRoot',
  '--run-dir': 'runDir',
  '--base-dir': 'baseDir',
};

function parseTrainerArgs(argv: readonly string[]): TrainerArgs {
  const args: TrainerArgs = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = FLAGS[argv[i]];
    const value = argv[i + 1];
    if (!key) throw new Error(`unknown trainer argument ${argv[i]}\n${USAGE}`);
    if (value === undefined) throw new Error(`trainer: ${argv[i]} needs a value\n${USAGE}`);
    if (key === 'steps') {
      args.steps = positiveInteger(value);
      if (args.steps === undefined)
        throw new Error(`trainer: --steps needs a whole number of steps from 1, not ${value}`);
    } else if (key === 'backend') args.backend = value as Backend;
    else args[key] = value;
  }
  return args;
}

/** The first reason to stop, from a `stop` message, a signal, or the host going away. */
function watchForStop(): () => string | undefined {
  let why: string | undefined;
  const stop = (reason: string) => {
    why ??= reason;
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
  process.on('message', (m: TrainerCommand) => {
    if (m?.type === 'stop') stop('a stop was requested');
  });
  // The host went away (an editor closed, a sweep queue or `p2p train` killed): checkpoint and stop rather than
  // train unwatched.
  process.on('disconnect', () => stop('the host went away'));
  return () => why;
}

/** Events to the host: over IPC when forked, else JSON lines on stdout. A host that is gone loses nothing: the run folder has every event. */
function eventSink(): (e: TrainerEvent) => void {
  // The pipes of a host that is gone fail with EPIPE; that must not end the run before its checkpoint.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  if (!process.send) return (e) => process.stdout.write(JSON.stringify(e) + '\n');
  return (e) => {
    if (process.connected) process.send!(e, undefined, {}, () => {});
  };
}

function main(): void {
  const stop = watchForStop();
  const emit = eventSink();
  if (process.argv[2] === '--translate') return oneRequest(process.argv[3], emit, runTranslate);
  if (process.argv[2] === '--evaluate') return oneRequest(process.argv[3], emit, runEvaluate);
  if (process.argv[2] === '--probe') return oneRequest(process.argv[3], emit, runProbe);
  let args: TrainerArgs;
  try {
    args = parseTrainerArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  runTrainer(args, emit, stop)
    .then((code) => {
      process.exitCode = code;
    })
    .catch((e: Error) => {
      emit({ type: 'error', payload: { message: e.message, stack: e.stack } });
      process.stderr.write(`trainer: ${e.message}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      if (process.connected) process.disconnect();
    });
}

/**
 * One request (images through runs' generators, a run's checkpoints evaluated): its answer as an event; a failure
 * as an `error` event and status 1.
 */
function oneRequest<R>(
  json: string | undefined,
  emit: (e: TrainerEvent) => void,
  handle: (request: R, emit: (e: TrainerEvent) => void) => Promise<number>,
): void {
  const fail = (e: Error) => {
    emit({ type: 'error', payload: { message: e.message } });
    process.stderr.write(`trainer: ${e.message}\n`);
    process.exitCode = 1;
  };
  let request: R;
  try {
    request = JSON.parse(json ?? '') as R;
  } catch {
    return fail(new Error(`${process.argv[2]} needs a JSON request`));
  }
  handle(request, emit)
    .catch(fail)
    .finally(() => {
      if (process.connected) process.disconnect();
    });
}

if (require.main === module) main();
