/// <reference types="@webgpu/types" />
// GPU memory by lifetime: the buffers of a network's passes (activations, their gradients, BatchNorm's statistics)
// live from the pass's forward to its backward, within one step. Passes of one network never overlap in a step
// (the seed's loop: the generator's inference pass ends before its training pass starts, and the discriminator's
// own update ends before it judges the generator's output; the paper's: its fake pass, its real pass and its pass
// for the generator follow one another), so they share one pool: a pass's k-th buffer of a size is the pool's k-th
// of that size. Within a pass every buffer is its own, so no kernel binds one buffer twice.

const storage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** One pass's share of a pool: the buffers it asks for, in order. */
export type Allocator = (bytes: number) => GPUBuffer;

export class BufferPool {
  private readonly bySize = new Map<number, GPUBuffer[]>();
  private asked = 0;

  constructor(private readonly device: GPUDevice) {}

  /** An allocator for one more pass that never overlaps the pool's other passes within a step. */
  member(): Allocator {
    const taken = new Map<number, number>();
    return (bytes) => {
      this.asked += bytes;
      const k = taken.get(bytes) ?? 0;
      taken.set(bytes, k + 1);
      const buffers = this.bySize.get(bytes) ?? [];
      this.bySize.set(bytes, buffers);
      if (k === buffers.length) buffers.push(this.device.createBuffer({ size: bytes, usage: storage() }));
      return buffers[k];
    };
  }

  /** Bytes of every buffer the pool holds. */
  bytes(): number {
    let sum = 0;
    for (const [size, buffers] of this.bySize) sum += size * buffers.length;
    return sum;
  }

  /** Bytes the passes asked for: what they would take with a buffer each. */
  requested(): number {
    return this.asked;
  }

  destroy(): void {
    for (const buffers of this.bySize.values()) for (const b of buffers) b.destroy();
    this.bySize.clear();
  }
}
