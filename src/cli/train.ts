// `p2p train FILE [--backend B] [--steps N] [--out DIR]` and `p2p train --resume RUN`: runs the trainer
// (src/host/trainerProcess.ts), draws a progress line from its events, and turns Ctrl+C, SIGTERM and SIGHUP into a
// stop (checkpoint, then exit).

import { join } from 'node:path';
import { clock } from '../core/units';
import { adapterWithFeatures, EXIT_STOPPED, type StartedPayload, type TrainerEvent } from '../protocol/trainer';
import { TrainerProcess, type Progress } from '../host/trainerProcess';
import { positiveInteger } from '../core/units';

const USAGE =
  'usage: p2p train FILE [--backend auto|tensorflow|webgpu|webgpu-tfjs|wasm|cpu] [--steps N] [--out DIR]\n' +
  '       p2p train --resume RUNDIR [--steps N] [--backend B]\n';

/** Signals that stop a run as Ctrl+C does: `timeout`, a closed terminal, a scheduler. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function bar(fraction: number, width = 24): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/**
 * "webgpu: NVIDIA H200 (nvidia, hopper) · shader-f16, subgroups" (or the tfjs-node package and its folder), then why
 * each backend before it was not used.
 */
function backendText(started: StartedPayload): string {
  const a = started.adapter;
  const gpu = a ? `: ${adapterWithFeatures(a)}` : started.tensorflow ? `: ${started.tensorflow}` : '';
  const passed = started.backendLog.slice(0, -1).map((line) => `\n  not used: ${line}`);
  const step = started.trainStep?.startsWith('compiled') ? `\n  step: ${started.trainStep}` : '';
  return `${started.backend}${gpu}${step}${passed.join('')}`;
}

/** The trainer's arguments, or a usage error. */
function trainerArgs(argv: readonly string[]): string[] | string {
  const args: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--resume' || a === '--backend' || a === '--steps' || a === '--out') {
      if (argv[i + 1] === undefined) return `${a} needs a value`;
      if (a === '--steps' && positiveInteger(argv[i + 1]) === undefined)
        return `--steps needs a whole number of steps from 1, not ${argv[i + 1]}`;
      args.push(a, argv[++i]);
    } else if (!a.startsWith('--') && !file) file = a;
    else return `unexpected ${a}`;
  }
  if (file) args.push('--config', file);
  else if (!args.includes('--resume')) return 'expected FILE or --resume RUNDIR';
  return args;
}

/** What `p2p train` prints for each event, on stderr; a terminal gets one progress line rewritten in place. */
class ProgressPrinter {
  private lastLine = 0;
  private readonly clear: string;

  constructor(
    private readonly trainer: () => TrainerProcess,
    private readonly tty = !!process.stderr.isTTY,
  ) {
    this.clear = tty ? '\r\x1b[K' : '';
  }

  event(e: TrainerEvent): void {
    const out = (text: string) => process.stderr.write(`${this.clear}${text}\n`);
    if (e.type === 'started') out(startedText(e.payload));
    else if (e.type === 'step') this.step(this.trainer().progress(e.payload), e.payload);
    else if (e.type === 'eval') out(evalText(e.payload));
    else if (e.type === 'warning') out(`warning: ${e.payload.message}`);
    else if (e.type === 'error') out(`error: ${e.payload.message}`);
    else if (e.type === 'finished') out(finishedText(e.payload));
  }

  private step(p: Progress, s: Extract<TrainerEvent, { type: 'step' }>['payload']): void {
    const losses = `G L1 ${s.gL1.toFixed(3)} GAN ${s.gGan.toFixed(3)} · D ${s.dLoss.toFixed(3)}`;
    const line = `step ${p.step}/${p.totalSteps} ${bar(p.fraction)} ${losses} · ${s.imgPerSec.toFixed(1)} img/s · ETA ${clock(p.etaSeconds)}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (Date.now() - this.lastLine > 5000 || p.step === p.totalSteps) {
      process.stderr.write(line + '\n');
      this.lastLine = Date.now();
    }
  }
}

function startedText(p: StartedPayload): string {
  const images = `${p.trainImages} train / ${p.testImages} test images, batch ${p.batchSize}, ${p.stepsPerEpoch} steps per epoch`;
  return (
    `${p.startStep ? 'resuming' : 'training'} ${p.name} on ${backendText(p)}\n` +
    `  ${images}, steps ${p.startStep}..${p.totalSteps}\n  run: ${p.runDir}`
  );
}

function evalText(q: Extract<TrainerEvent, { type: 'eval' }>['payload']): string {
  const test = q.test
    ? ` · test L1 ${q.test.l1.toFixed(3)} PSNR ${q.test.psnr.toFixed(2)} SSIM ${q.test.ssim.toFixed(3)} · gap L1 ${q.gap!.l1.toFixed(3)}`
    : '';
  return `eval @${q.step}: train L1 ${q.train.l1.toFixed(3)} PSNR ${q.train.psnr.toFixed(2)} SSIM ${q.train.ssim.toFixed(3)}${test}`;
}

function finishedText(f: Extract<TrainerEvent, { type: 'finished' }>['payload']): string {
  const why = f.why ? ` (${f.why})` : '';
  return `${f.reason} at step ${f.step}${why}\n  run:     ${f.runDir}\n  samples: ${join(f.runDir, 'samples')}\n  resume:  p2p train --resume ${f.runDir}`;
}

export async function runTrain(argv: readonly string[], trainerPath = join(__dirname, 'trainer.js')): Promise<number> {
  const args = trainerArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`p2p train: ${args}\n${USAGE}`);
    return 2;
  }
  const printer = new ProgressPrinter(() => trainer);
  const trainer: TrainerProcess = new TrainerProcess({ trainerPath, args, stdout: 'inherit' }, (e) => printer.event(e));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping, writing a checkpoint...\n`);
    trainer.stop();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  const exit = await trainer.exited;
  for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  if (exit.code !== 0 && trainer.stderr && !trainer.started) process.stderr.write(trainer.stderr);
  // Stopped with a checkpoint: the status of an interrupted command.
  if (exit.code === EXIT_STOPPED) return 130;
  return exit.code ?? (exit.signal ? 1 : 0);
}
