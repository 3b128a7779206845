// Human-readable numbers for hovers, hints and reports.

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function signedCount(n: number): string {
  return `${n > 0 ? '+' : n < 0 ? '−' : '±'}${count(Math.abs(n))}`;
}

/** 1.23 G, 45.6 M, 7.8 K */
export function si(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** A duration as a clock: `4:05`, `1:02:09`; `--:--` when unknown (an ETA before the first step). */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const p = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${p(m)}:${p(s % 60)}` : `${m}:${p(s % 60)}`;
}

/** A command line's count (`--steps 200`): a whole number from 1, or undefined for anything else (`abc`, `1e3`, `-2`). */
export function positiveInteger(text: string): number | undefined {
  return /^\d+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
}
