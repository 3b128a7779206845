/// <reference types="@webgpu/types" />
// The kernels of the compiled step, each declared once (`KernelSpec`): its uniform block (a struct of named u32 and
// f32 fields, bound as `s` at binding 0) and its storage bindings (`array<f32>` by name, from binding 1 on, in the
// order declared). The WGSL declarations, the bind group layout, the bytes of the uniform block and the check of the
// buffers bound all come from that one declaration. A program (the WGSL, its entry points and its layout) is
// compiled once per device and shared: the discriminator runs three times in a step (on the generator's output for
// the generator's update, then on the fake and the real pair for its own), each with bind groups of its own over
// the same pipelines. Layouts are explicit, so every entry point of a module shares one bind group even when it uses
// only some of the bindings. A binding is a whole buffer or a range of one (a variable in an arena).

export type Binding = GPUBuffer | GPUBufferBinding;

/** What the compiled step cannot run (a layer it has no kernel for, a buffer over the device's limits): tfjs's step does. */
export class UnsupportedGraph extends Error {}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Throws UnsupportedGraph when `bytes` cannot be one storage binding on this device (over its
 * maxStorageBufferBindingSize or maxBufferSize; WebGPU guarantees 128 and 256 MiB). `what` names the buffer.
 */
export function checkBindable(device: GPUDevice, bytes: number, what: string): void {
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (bytes > limit)
    throw new UnsupportedGraph(`${what} of ${MiB(bytes)}, over this device's ${MiB(limit)} per storage binding`);
}

/** How a kernel uses a storage binding. */
export type Access = 'read' | 'write';

/** A kernel's storage bindings by name, numbered from 1 in the order they are declared. */
export type StorageLayout<N extends string = string> = Readonly<Record<N, Access>>;

/** The buffers for a kernel's storage bindings, by the same names. */
export type BufferSet<N extends string = string> = Readonly<Record<N, Binding>>;

/** A uniform block's fields in order, each a u32 or an f32. */
export type UniformLayout<F extends string = string> = Readonly<Record<F, 'u32' | 'f32'>>;

export type UniformValues<F extends string = string> = Readonly<Record<F, number>>;

export interface KernelSpec<N extends string = string, F extends string = string> {
  label: string;
  /** The struct `Shape` of the uniform block `s`. */
  uniforms: UniformLayout<F>;
  storage: StorageLayout<N>;
  /** The WGSL after the declarations: it reads `s.<field>` and the storage bindings by name. */
  code: string;
  entryPoints: readonly string[];
}

interface Program {
  layout: GPUBindGroupLayout;
  pipelines: Record<string, GPUComputePipeline>;
}

const programs = new WeakMap<GPUDevice, Map<string, Program>>();

/** The WGSL declarations of a spec's uniform block and storage bindings. */
function declarations(spec: KernelSpec): string {
  const fields = Object.entries(spec.uniforms).map(([field, type]) => `${field}: ${type}`);
  const storage = Object.entries(spec.storage).map(
    ([name, access], i) =>
      `@group(0) @binding(${i + 1}) var<storage, ${access === 'write' ? 'read_write' : 'read'}> ${name}: array<f32>;`,
  );
  return [`struct Shape { ${fields.join(', ')} }`, '@group(0) @binding(0) var<uniform> s: Shape;', ...storage].join(
    '\n',
  );
}

function compile(device: GPUDevice, spec: KernelSpec, code: string): Program {
  const buffers = Object.keys(spec.storage).length;
  if (buffers > device.limits.maxStorageBuffersPerShaderStage)
    throw new UnsupportedGraph(
      `${spec.label} with ${buffers} storage buffers, over this device's ${device.limits.maxStorageBuffersPerShaderStage}`,
    );
  const entry = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type },
  });
  const storage = Object.values(spec.storage).map((access, i) =>
    entry(i + 1, access === 'write' ? 'storage' : 'read-only-storage'),
  );
  const layout = device.createBindGroupLayout({ entries: [entry(0, 'uniform'), ...storage], label: spec.label });
  const module = device.createShaderModule({ code, label: spec.label });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const pipelines: Record<string, GPUComputePipeline> = {};
  for (const entryPoint of spec.entryPoints) {
    pipelines[entryPoint] = device.createComputePipeline({
      layout: pipelineLayout,
      compute: { module, entryPoint },
      label: `${spec.label} ${entryPoint}`,
    });
  }
  return { layout, pipelines };
}

/** The program of `spec` on `device`, compiled the first time it is asked for. */
function program(device: GPUDevice, spec: KernelSpec): Program {
  let known = programs.get(device);
  if (!known) programs.set(device, (known = new Map()));
  const code = `${declarations(spec)}\n${spec.code}`;
  const key = `${spec.entryPoints.join(',')}|${code}`;
  let found = known.get(key);
  if (!found) known.set(key, (found = compile(device, spec, code)));
  return found;
}

/**
 * Throws unless `given` has a buffer for each of the `declared` bindings and for nothing else (a binding given as
 * undefined is not given).
 */
function checkBindings(label: string, declared: string[], given: Readonly<Record<string, Binding | undefined>>): void {
  const names = Object.keys(given).filter((name) => given[name] !== undefined);
  const missing = declared.filter((name) => !names.includes(name));
  const extra = names.filter((name) => !declared.includes(name));
  const expected = `it binds ${declared.join(', ')}`;
  if (missing.length) throw new Error(`${label}: no buffer for its binding ${missing.join(', ')} (${expected})`);
  if (extra.length) throw new Error(`${label}: a buffer for ${extra.join(', ')}, which it does not bind (${expected})`);
}

/** A kernel's uniform block: the bytes of its struct, each field written by name. */
class UniformBlock<F extends string = string> {
  readonly buffer: GPUBuffer;
  private readonly fields: F[];
  /** The block as the host last wrote it, so that a write of some fields is one copy, as u32 and f32 words. */
  private readonly words: ArrayBuffer;
  private readonly u32: Uint32Array;
  private readonly f32: Float32Array;

  constructor(
    private readonly device: GPUDevice,
    private readonly layout: UniformLayout<F>,
    values: UniformValues<F>,
  ) {
    this.fields = Object.keys(layout) as F[];
    this.words = new ArrayBuffer(Math.max(16, Math.ceil((this.fields.length * 4) / 16) * 16));
    [this.u32, this.f32] = [new Uint32Array(this.words), new Float32Array(this.words)];
    this.set(values);
    const usage = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
    this.buffer = device.createBuffer({ size: this.words.byteLength, usage, mappedAtCreation: true });
    new Uint8Array(this.buffer.getMappedRange()).set(new Uint8Array(this.words));
    this.buffer.unmap();
  }

  /** Writes some fields (the span from the first to the last, in one copy) before the submit that reads them. */
  write(values: Partial<UniformValues<F>>): void {
    const [first, last] = this.set(values);
    if (first <= last)
      this.device.queue.writeBuffer(this.buffer, first * 4, this.words, first * 4, (last - first + 1) * 4);
  }

  /** Sets the fields given in the host's copy; the first and the last position set. */
  private set(values: Partial<UniformValues<F>>): [number, number] {
    let [first, last] = [this.fields.length, -1];
    this.fields.forEach((field, i) => {
      const value = values[field];
      if (value === undefined) return;
      (this.layout[field] === 'f32' ? this.f32 : this.u32)[i] = value;
      [first, last] = [Math.min(first, i), i];
    });
    return [first, last];
  }
}

/**
 * One use of a kernel: its program, its uniform block and, once `bind` has had a buffer for every storage binding
 * the kernel declares, its bind group. Recording a dispatch before that throws.
 */
export class KernelInstance<N extends string = string, F extends string = string> {
  readonly uniforms: UniformBlock<F>;
  private readonly program: Program;
  private group: GPUBindGroup | undefined;

  constructor(
    private readonly device: GPUDevice,
    private readonly spec: KernelSpec<N, F>,
    uniforms: UniformValues<F>,
  ) {
    this.uniforms = new UniformBlock(device, spec.uniforms, uniforms);
    this.program = program(device, spec);
  }

  /** Binds the buffers, one for each storage binding the kernel declares and no other, once. */
  bind(buffers: BufferSet<N>): void {
    const names = Object.keys(this.spec.storage) as N[];
    checkBindings(this.spec.label, names, buffers);
    const resource = (b: Binding) => ('buffer' in b ? b : { buffer: b });
    const entries = [
      { binding: 0, resource: { buffer: this.uniforms.buffer } },
      ...names.map((name, i) => ({ binding: i + 1, resource: resource(buffers[name]) })),
    ];
    this.group = this.device.createBindGroup({ layout: this.program.layout, entries, label: this.spec.label });
  }

  /** Records one dispatch of an entry point into a pass of the step's command encoder. */
  dispatch(pass: GPUComputePassEncoder, entryPoint: string, x: number, y = 1, z = 1): void {
    if (!this.group) throw new Error(`${this.spec.label}: a dispatch recorded before bind() gave it its buffers`);
    pass.setPipeline(this.program.pipelines[entryPoint]);
    pass.setBindGroup(0, this.group);
    pass.dispatchWorkgroups(x, y, z);
  }
}

/** Workgroups for one thread per element, on as few rows as the device's limit per dimension allows. */
export function elementGroups(device: GPUDevice, elements: number, threads: number): [number, number] {
  const groups = Math.ceil(elements / threads);
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  return [Math.min(groups, limit), Math.ceil(groups / limit)];
}
