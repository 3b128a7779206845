// Progress shown at a steady rate: a trainer may report tens of steps a second, and the notification, the status
// bar and the panel should show the same step, refreshed together, rather than each at its own pace.

/** How often progress is shown: twice a second. */
export const PROGRESS_MS = 500;

/** Calls `flush` at most every `ms` after `poke`s, always once after the last poke (a throttle, not a debounce). */
export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  constructor(
    private readonly ms: number,
    private readonly flush: () => void,
  ) {}

  poke(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.last + this.ms - Date.now());
    this.timer = setTimeout(() => this.now(), wait);
  }

  /** Flushes at once (the last step before a run ends). */
  now(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.last = Date.now();
    this.flush();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
