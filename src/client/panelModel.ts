// The runs panel's view model: a pure function of what was read from the run folders. It turns run and sweep states
// into the panel contract's runs and sweeps, and says which runs changed since the webview was last sent them, so a
// refresh (a progress tick among them) sends only those. No vscode and no file system: the host reads the folders
// and passes what it read, and how a file becomes a webview URI, as `RunFacts`.

import { basename } from 'node:path';
import { isActive } from '../core/slurm';
import type { HostMessage, PanelProbe, PanelRun, PanelSweep, PanelViewState } from '../protocol/panel';
import type { RunState, SampleRef } from '../protocol/runs';
import type { Probe } from '../protocol/trainer';
import { configDiff } from '../runFolders/runState';
import type { SweepState } from '../runFolders/sweepFolder';
import type { SweepStatus } from '../sweep/executor';

/** The `runs` message's payload. */
export type RunsPayload = Extract<HostMessage, { type: 'runs' }>['payload'];

/** What the panel shows of a run folder besides its RunState, looked up by the folder's path. */
export interface RunFacts {
  /** What the folder was read at (its events.jsonl's size and time): a new key is a changed run. */
  folderKey(dir: string): string | undefined;
  /** The step a live run is at as the training notification shows it, so the table reads the same. */
  liveStep(dir: string): number | undefined;
  /** When the run's probe.json was written: a newer probe is sent again. */
  probeMtime(dir: string): number | undefined;
  probing(dir: string): boolean;
  probeError(dir: string): string | undefined;
  // Asked only of the runs that changed: these read files.
  probe(dir: string): Probe | undefined;
  macs(dir: string): number | undefined;
  checkpointed(dir: string): boolean;
  samples(dir: string, samples: readonly SampleRef[]): PanelRun['samples'];
  /** A file inside the runs folder as a URI the webview may load. */
  uri(file: string): string;
  /** A SLURM sweep's scheduler states as last read (undefined before the first read). */
  schedulerStatus(sweep: SweepState): SweepStatus | undefined;
}

/** One refresh's reading of the runs folder, and what the host asks of the webview. */
export interface PanelInput {
  runs: readonly RunState[];
  sweeps: readonly SweepState[];
  root: string;
  /** The run chosen as the base of config differences; the last listed when it is gone. */
  base?: string;
  /** A tab the host asks to show (until the page says it showed it). */
  tab?: PanelViewState['tab'];
  /** A run just started, to select once it is sent. */
  follow?: string;
}

/** Which runs the webview is sent: those whose view changed; those removed leave `order` and the webview drops them. */
export interface RunsDelta {
  changed: string[];
  removed: string[];
}

/** What the webview was last sent: each run's view key (by id), the order and the sweeps as one key each. */
export interface Sent {
  runs: ReadonlyMap<string, string>;
  order?: string;
  sweeps?: string;
}

/** What a new webview was sent: nothing. */
export const NOTHING_SENT: Sent = { runs: new Map() };

export interface PanelUpdate {
  payload: RunsPayload;
  /** The `sent` of the next update. */
  sent: Sent;
  /** The payload says nothing the webview does not show already: the host need not post it. */
  empty: boolean;
  delta: RunsDelta;
  /** The followed run was selected: follow it no more. */
  followed: boolean;
  /** A SLURM sweep has tasks queued or running: its runs write on other nodes, unseen by watchers, so poll. */
  schedulerActive: boolean;
}

/** The `runs` message for this reading, given the view keys last sent (an empty map for a new webview). */
export function panelUpdate(input: PanelInput, facts: RunFacts, sent: Sent): PanelUpdate {
  const base = input.runs.find((r) => r.id === input.base) ?? input.runs[input.runs.length - 1];
  const keys = runViewKeys(input.runs, base, facts);
  const delta = runsDelta(sent.runs, keys);
  const changed = new Set(delta.changed);
  const runs = input.runs.filter((r) => changed.has(r.id)).map((r) => panelRun(r, base, facts));
  const sweeps = input.sweeps.map((sw) =>
    panelSweep(sw, sw.plan.executor === 'slurm' ? facts.schedulerStatus(sw) : undefined),
  );
  const select = input.follow && changed.has(input.follow) ? input.follow : undefined;
  const order = input.runs.map((r) => r.id);
  const [orderKey, sweepsKey] = [order.join('\n'), JSON.stringify(sweeps)];
  const newOrder = orderKey !== sent.order;
  const newSweeps = sweepsKey !== sent.sweeps;
  return {
    payload: {
      runs,
      ...(newOrder ? { order } : {}),
      ...(newSweeps ? { sweeps } : {}),
      root: input.root,
      ...(input.tab ? { tab: input.tab } : {}),
      ...(select ? { select } : {}),
    },
    sent: { runs: keys, order: orderKey, sweeps: sweepsKey },
    empty: !runs.length && !newOrder && !newSweeps && !input.tab && !select,
    delta,
    followed: !!select,
    schedulerActive: sweeps.some((sw) => !!sw.scheduler?.active),
  };
}

/**
 * What each run's view depends on, as one string per run id: its folder as read, status, live step, name, sweep,
 * probe, and the base run (every diff changes with it). Equal keys mean the webview already shows the run.
 */
function runViewKeys(runs: readonly RunState[], base: RunState | undefined, facts: RunFacts): Map<string, string> {
  const baseKey = `${base?.id}@${base ? facts.folderKey(base.dir) : ''}`;
  const keys = new Map<string, string>();
  for (const r of runs) {
    const probe = `${facts.probeMtime(r.dir)}|${facts.probing(r.dir)}|${facts.probeError(r.dir)}`;
    const key = `${facts.folderKey(r.dir)}|${r.status}|${liveStepOf(r, facts)}|${baseKey}|${r.name}|${r.sweep}|${probe}`;
    keys.set(r.id, key);
  }
  return keys;
}

/** The runs whose key differs from the one last sent (or that were never sent), and those no longer listed. */
export function runsDelta(sent: ReadonlyMap<string, string>, keys: ReadonlyMap<string, string>): RunsDelta {
  return {
    changed: [...keys].flatMap(([id, key]) => (sent.get(id) === key ? [] : [id])),
    removed: [...sent.keys()].filter((id) => !keys.has(id)),
  };
}

/** The live step counts only while the run trains: a finished run shows the step its folder ends at. */
const liveStepOf = (r: RunState, facts: RunFacts) => (r.status === 'running' ? facts.liveStep(r.dir) : undefined);

/** A run as the panel shows it: its config as differences to the base's, samples and probe figures as URIs. */
function panelRun(run: RunState, base: RunState | undefined, facts: RunFacts): PanelRun {
  const { config, samples, ...rest } = run;
  const liveStep = liveStepOf(run, facts);
  return {
    ...rest,
    ...(liveStep !== undefined ? { step: liveStep } : {}),
    macs: facts.macs(run.dir),
    diff:
      base?.config && config && base !== run ? configDiff(base.config, config).filter((c) => c.path !== 'name') : [],
    samples: facts.samples(run.dir, samples),
    checkpointed: facts.checkpointed(run.dir),
    ...probeView(run.dir, facts),
  };
}

/** A run's probe (its figures as URIs that change when probe.json is rewritten), whether one runs, and its failure. */
function probeView(dir: string, facts: RunFacts): Pick<PanelRun, 'probe' | 'probing' | 'probeError'> {
  const found = facts.probe(dir);
  const error = facts.probeError(dir);
  let probe: PanelProbe | undefined;
  if (found) {
    const { run: _run, figures, ...rest } = found;
    const v = Math.round(facts.probeMtime(dir) ?? 0);
    const uri = (file: string) => `${facts.uri(file)}?v=${v}`;
    const alphaZero = figures.alphaZero.map((f) => ({ ...f, image: uri(f.image) }));
    probe = { ...rest, figures: { unmodified: uri(figures.unmodified), alphaZero } };
  }
  return {
    ...(probe ? { probe } : {}),
    ...(facts.probing(dir) ? { probing: true } : {}),
    ...(error ? { probeError: error } : {}),
  };
}

/** A sweep as the panel shows it; a SLURM sweep's rows carry their scheduler states. */
function panelSweep(sw: SweepState, status: SweepStatus | undefined): PanelSweep {
  const id = basename(sw.dir);
  const slurm = sw.plan.executor === 'slurm';
  const rows = status ? sw.rows.map((r) => ({ ...r, scheduler: status.states.get(r.variant) })) : sw.rows;
  const jobs = [...new Set(rows.flatMap((r) => (r.scheduler?.job ? [r.scheduler.job.split('_')[0]] : [])))];
  return {
    id,
    name: sw.plan.name,
    rows,
    runIds: sw.plan.variants.map((v) => (sw.runs.has(v.name) ? `${id}/${v.dir}` : undefined)),
    steps: sw.plan.steps,
    data: sw.plan.data,
    seed: sw.plan.seed,
    executor: slurm ? 'slurm' : 'local',
    ...(slurm
      ? {
          scheduler: {
            jobs,
            active: rows.filter((r) => isActive(r.scheduler)).length,
            ...(status?.error ? { error: status.error } : {}),
          },
        }
      : {}),
  };
}
