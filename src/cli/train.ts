// `p2p train FILE [--backend B] [--steps N] [--out DIR]` and `p2p train --resume RUN`: forks dist/trainer.js,
// draws a progress line from its events and forwards Ctrl+C as a stop (checkpoint, then exit).

import { fork } from 'node:child_process';
import { join } from 'node:path';
import { adapterWithFeatures, type StartedPayload, type TrainerEvent } from '../trainer/contract';

const USAGE =
  'usage: p2p train FILE [--backend auto|tensorflow|webgpu|wasm|cpu] [--steps N] [--out DIR]\n       p2p train --resume RUNDIR [--steps N] [--backend B]\n';

function bar(fraction: number, width = 24): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const p = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${p(m)}:${p(s % 60)}` : `${m}:${p(s % 60)}`;
}

/** "webgpu: NVIDIA H200 (nvidia, hopper) · shader-f16, subgroups", then why each backend before it was not used. */
function backendText(started: StartedPayload): string {
  const a = started.adapter;
  const gpu = a ? `: ${adapterWithFeatures(a)}` : '';
  const passed = started.backendLog.slice(0, -1).map((line) => `\n  not used: ${line}`);
  return `${started.backend}${gpu}${passed.join('')}`;
}

export function runTrain(argv: readonly string[], trainerPath = join(__dirname, 'trainer.js')): Promise<number> {
  const args: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--resume' || a === '--backend' || a === '--steps' || a === '--out') {
      if (argv[i + 1] === undefined) {
        process.stderr.write(`p2p train: ${a} needs a value\n${USAGE}`);
        return Promise.resolve(2);
      }
      args.push(a, argv[++i]);
    } else if (!a.startsWith('--') && !file) file = a;
    else {
      process.stderr.write(`p2p train: unexpected ${a}\n${USAGE}`);
      return Promise.resolve(2);
    }
  }
  if (file) args.push('--config', file);
  else if (!args.includes('--resume')) {
    process.stderr.write(`p2p train: expected FILE or --resume RUNDIR\n${USAGE}`);
    return Promise.resolve(2);
  }

  const tty = process.stderr.isTTY;
  return new Promise((resolveExit) => {
    const child = fork(trainerPath, args, { env: { ...process.env }, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    let started: StartedPayload | undefined;
    let t0 = Date.now();
    let lastLine = 0;
    let interrupted = false;
    const onSigint = () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write('\nstopping: writing a checkpoint...\n');
      child.send({ type: 'stop' });
    };
    process.on('SIGINT', onSigint);
    child.on('message', (e: TrainerEvent) => {
      switch (e.type) {
        case 'started':
          started = e.payload;
          t0 = Date.now();
          process.stderr.write(
            `${e.payload.startStep ? 'resuming' : 'training'} ${e.payload.name} on ${backendText(e.payload)}\n` +
              `  ${e.payload.trainImages} train / ${e.payload.testImages} test images, batch ${e.payload.batchSize}, ${e.payload.stepsPerEpoch} steps per epoch, ` +
              `steps ${e.payload.startStep}..${e.payload.totalSteps}\n  run: ${e.payload.runDir}\n`,
          );
          break;
        case 'step': {
          if (!started) break;
          const p = e.payload;
          const done = p.step - started.startStep;
          const rate = done / ((Date.now() - t0) / 1000);
          const line = `step ${p.step}/${started.totalSteps} ${bar(p.step / started.totalSteps)} G L1 ${p.gL1.toFixed(3)} GAN ${p.gGan.toFixed(3)} · D ${p.dLoss.toFixed(3)} · ${p.imgPerSec.toFixed(1)} img/s · ETA ${clock((started.totalSteps - p.step) / rate)}`;
          if (tty) process.stderr.write(`\r${line}\x1b[K`);
          else if (Date.now() - lastLine > 5000 || p.step === started.totalSteps) {
            process.stderr.write(line + '\n');
            lastLine = Date.now();
          }
          break;
        }
        case 'eval': {
          const q = e.payload;
          const test = q.test
            ? ` · test L1 ${q.test.l1.toFixed(3)} PSNR ${q.test.psnr.toFixed(2)} SSIM ${q.test.ssim.toFixed(3)} · gap L1 ${q.gap!.l1.toFixed(3)}`
            : '';
          process.stderr.write(
            `${tty ? '\r\x1b[K' : ''}eval @${q.step}: train L1 ${q.train.l1.toFixed(3)} PSNR ${q.train.psnr.toFixed(2)} SSIM ${q.train.ssim.toFixed(3)}${test}\n`,
          );
          break;
        }
        case 'warning':
          process.stderr.write(`${tty ? '\r\x1b[K' : ''}warning: ${e.payload.message}\n`);
          break;
        case 'error':
          process.stderr.write(`${tty ? '\r\x1b[K' : ''}error: ${e.payload.message}\n`);
          break;
        case 'finished':
          process.stderr.write(
            `${tty ? '\r\x1b[K' : ''}${e.payload.reason} at step ${e.payload.step}\n  run:     ${e.payload.runDir}\n  samples: ${join(e.payload.runDir, 'samples')}\n  resume:  p2p train --resume ${e.payload.runDir}\n`,
          );
          break;
        default:
          break;
      }
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onSigint);
      if (code !== 0 && stderr && !started) process.stderr.write(stderr);
      resolveExit(code ?? (signal ? 1 : 0));
    });
  });
}
