// One seeded generator for everything random in a training process: weight initialisers and dropout (tfjs
// draws their seeds from Math.random), data order and splits. Its state is saved in checkpoints.

/** mulberry32: small, fast, and its whole state is one 32-bit number. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next = (): number => {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  get saved(): number {
    return this.state;
  }

  restore(state: number): void {
    this.state = state >>> 0;
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}

export function mulberry32(seed: number): () => number {
  return new SeededRandom(seed).next;
}

/** Runs `fn` with Math.random drawing from `random` (tfjs draws dropout seeds from it), then puts it back. */
export async function withRandom<T>(random: () => number, fn: () => Promise<T>): Promise<T> {
  const saved = Math.random;
  Math.random = random;
  try {
    return await fn();
  } finally {
    Math.random = saved;
  }
}
