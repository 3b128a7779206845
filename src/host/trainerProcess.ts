// The one place that forks the trainer (dist/trainer.js), for the editor, the sweep queue and `p2p train`: typed
// events, the run's progress and ETA, stop (checkpoint first) and the kill of its whole process group after a
// grace period. The trainer runs in a process group of its own, so a host that dies (killed, a closed terminal)
// does not take it down mid-step: it sees the host go, checkpoints and stops (src/trainer/main.ts).

import { fork, type ChildProcess } from 'node:child_process';
import type {
  Evaluated,
  EvaluateRequest,
  FinishedPayload,
  Probe,
  ProbeRequest,
  StartedPayload,
  StepPayload,
  TrainerEvent,
  TranslateRequest,
  Translation,
} from '../protocol/trainer';

export interface TrainerProcessOptions {
  trainerPath: string;
  args: string[];
  /** The trainer's stdout: to `onOutput` ('pipe'), the host's own ('inherit') or nowhere. Its stderr is always read. */
  stdout?: 'pipe' | 'inherit' | 'ignore';
  cwd?: string;
  /** A copy of the host's environment by default (a live reference to it is lost in Electron, electron#18412). */
  env?: NodeJS.ProcessEnv;
}

export interface TrainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the trainer's `finished` event; without one, a clean exit is `completed` and any other `failed`. */
  reason: FinishedPayload['reason'];
  /** Why it failed: its error event, else its last line on stderr, else how it exited. */
  error?: string;
  finished?: FinishedPayload;
}

export interface Progress {
  step: number;
  totalSteps: number;
  fraction: number;
  /** Seconds to the last step at this session's pace so far (Infinity before its first step). */
  etaSeconds: number;
}

/** How long a stopped trainer gets to write its checkpoint before its process group is killed. */
export const STOP_GRACE_MS = 4000;

export class TrainerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<TrainerExit>;
  started: StartedPayload | undefined;
  private startedAt = 0;
  private finished: FinishedPayload | undefined;
  private error: string | undefined;
  private stderrTail = '';

  constructor(
    options: TrainerProcessOptions,
    onEvent: (e: TrainerEvent) => void,
    onOutput: (text: string, stream: 'stdout' | 'stderr') => void = () => {},
  ) {
    this.child = fork(options.trainerPath, options.args, {
      cwd: options.cwd,
      env: options.env ?? { ...process.env },
      stdio: ['ignore', options.stdout ?? 'ignore', 'pipe', 'ipc'],
      detached: process.platform !== 'win32',
    });
    this.child.stdout?.on('data', (d) => onOutput(String(d), 'stdout'));
    this.child.stderr!.on('data', (d) => {
      this.stderrTail = (this.stderrTail + d).slice(-4000);
      onOutput(String(d), 'stderr');
    });
    this.child.on('message', (e: TrainerEvent) => {
      this.record(e);
      onEvent(e);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(this.exit(code, signal))));
  }

  private record(e: TrainerEvent): void {
    if (e.type === 'started') {
      this.started = e.payload;
      this.startedAt = Date.now();
    } else if (e.type === 'finished') this.finished = e.payload;
    else if (e.type === 'error') this.error = e.payload.message;
  }

  private exit(code: number | null, signal: NodeJS.Signals | null): TrainerExit {
    const reason = this.finished?.reason ?? (code === 0 ? 'completed' : 'failed');
    const how = `the trainer exited with ${signal ?? `code ${code}`}`;
    const error = reason === 'failed' ? this.error || this.stderrTail.trim().split('\n').pop() || how : undefined;
    return { code, signal, reason, error, finished: this.finished };
  }

  /** Whatever the trainer wrote to stderr, the last 4,000 characters. */
  get stderr(): string {
    return this.stderrTail;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Where a step leaves the run: its fraction done and the ETA at this session's pace. */
  progress(step: StepPayload): Progress {
    const totalSteps = this.started?.totalSteps ?? step.step;
    const done = step.step - (this.started?.startStep ?? 0);
    const perStep = (Date.now() - this.startedAt) / 1000 / done;
    const etaSeconds = done > 0 ? (totalSteps - step.step) * perStep : Infinity;
    return { step: step.step, totalSteps, fraction: totalSteps ? step.step / totalSteps : 0, etaSeconds };
  }

  /** Asks the trainer to checkpoint and stop; a trainer that no longer listens on IPC gets SIGTERM (the same stop). */
  stop(): void {
    if (!this.running) return;
    if (this.child.connected) this.child.send({ type: 'stop' }, () => {});
    else this.child.kill('SIGTERM');
  }

  /** Ends the trainer and anything it started at once. */
  kill(): void {
    if (!this.running || !this.child.pid) return;
    try {
      if (process.platform === 'win32') throw new Error('no process groups');
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  /** Stop, wait up to `graceMs` for the checkpoint, then kill what is left. */
  async stopAndWait(graceMs = STOP_GRACE_MS): Promise<TrainerExit> {
    this.stop();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    const first = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (first === 'late') this.kill();
    return this.exited;
  }
}

/** The answer event of each one-request mode of the trainer. */
interface Answers {
  translated: Translation;
  evaluated: Evaluated;
  probed: Probe;
}

/** One request to a trainer process (`--translate JSON`, `--evaluate JSON`): the payload of its answer, or its error. */
async function requestInProcess<K extends keyof Answers>(
  trainerPath: string,
  [flag, type]: [string, K],
  request: unknown,
  env?: NodeJS.ProcessEnv,
): Promise<Answers[K]> {
  let answer: Answers[K] | undefined;
  const trainer = new TrainerProcess({ trainerPath, args: [flag, JSON.stringify(request)], env }, (e) => {
    if (e.type === type) answer = (e as { payload: unknown }).payload as Answers[K];
  });
  const exit = await trainer.exited;
  if (!answer) throw new Error(exit.error ?? `the ${flag.slice(2)} request wrote nothing`);
  return answer;
}

/** Images through runs' generators in a trainer process (src/trainer/translate.ts): its manifest, or its error. */
export function translateInProcess(trainerPath: string, request: TranslateRequest, env?: NodeJS.ProcessEnv) {
  return requestInProcess(trainerPath, ['--translate', 'translated'], request, env);
}

/** What each skip of a run's generator does, in a trainer process (src/trainer/probe.ts): probe.json, or its error. */
export function probeInProcess(trainerPath: string, request: ProbeRequest, env?: NodeJS.ProcessEnv) {
  return requestInProcess(trainerPath, ['--probe', 'probed'], request, env);
}

/** A run's checkpoints evaluated in a trainer process (src/trainer/evaluateRun.ts): its rows, or its error. */
export function evaluateInProcess(trainerPath: string, request: EvaluateRequest, env?: NodeJS.ProcessEnv) {
  return requestInProcess(trainerPath, ['--evaluate', 'evaluated'], request, env);
}
