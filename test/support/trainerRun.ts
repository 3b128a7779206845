// The real trainer process driven as the editor, the sweep queue and the CLI drive it (src/host/trainerProcess.ts),
// for the tests that start, stop, kill and resume it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainerEvent } from '../../src/protocol/trainer';
import { TrainerProcess } from '../../src/host/trainerProcess';

export interface Run {
  trainer: TrainerProcess;
  events: TrainerEvent[];
  exit: Promise<number | null>;
  waitFor(pred: (e: TrainerEvent) => boolean): Promise<TrainerEvent>;
}

/** The trainer through the one client that the editor, the sweep queue and the CLI use. */
export function startTrainer(trainerPath: string, args: string[]): Run {
  const events: TrainerEvent[] = [];
  const waiters: { pred: (e: TrainerEvent) => boolean; resolve: (e: TrainerEvent) => void }[] = [];
  const trainer = new TrainerProcess({ trainerPath, args }, (e) => {
    events.push(e);
    for (const w of [...waiters].filter((w) => w.pred(e))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  });
  const exit = trainer.exited.then((x) => x.code);
  return {
    trainer,
    events,
    exit,
    waitFor: (pred) =>
      new Promise((resolve, reject) => {
        const hit = events.find(pred);
        if (hit) return resolve(hit);
        waiters.push({ pred, resolve });
        void exit.then(() =>
          setTimeout(() => reject(new Error(`trainer exited first; stderr:\n${trainer.stderr}`)), 100),
        );
      }),
  };
}

export const ofType = <T extends TrainerEvent['type']>(events: TrainerEvent[], type: T) =>
  events.filter((e): e is Extract<TrainerEvent, { type: T }> => e.type === type);

export function readEvents(runDir: string): TrainerEvent[] {
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}
