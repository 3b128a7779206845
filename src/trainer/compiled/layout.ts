/// <reference types="@webgpu/types" />
// Pipelines and bind groups of the compiled step. A kernel's program (its WGSL, entry points and bindings) is
// compiled once per device and shared: the discriminator runs three times in a step (on the generator's output
// for the generator's update, then on the fake and the real pair for its own), each with bind groups of its own
// over the same pipelines. Layouts are explicit, so every entry point of a module shares one bind group even when
// it uses only some of the bindings. A binding is a whole buffer or a range of one (a variable in an arena).

export type Binding = GPUBuffer | GPUBufferBinding;

export interface ProgramSpec {
  label: string;
  code: string;
  entryPoints: string[];
  /** Binding numbers: uniform blocks, read-only storage, read-write storage. */
  uniform: number[];
  read: number[];
  write: number[];
}

export interface Program {
  layout: GPUBindGroupLayout;
  pipelines: Record<string, GPUComputePipeline>;
}

const programs = new WeakMap<GPUDevice, Map<string, Program>>();

function compile(device: GPUDevice, spec: ProgramSpec): Program {
  const entry = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type },
  });
  const entries = [
    ...spec.uniform.map((b) => entry(b, 'uniform')),
    ...spec.read.map((b) => entry(b, 'read-only-storage')),
    ...spec.write.map((b) => entry(b, 'storage')),
  ];
  const layout = device.createBindGroupLayout({ entries, label: spec.label });
  const module = device.createShaderModule({ code: spec.code, label: spec.label });
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
export function program(device: GPUDevice, spec: ProgramSpec): Program {
  let known = programs.get(device);
  if (!known) programs.set(device, (known = new Map()));
  const key = `${spec.entryPoints.join(',')}|${spec.uniform}|${spec.read}|${spec.write}|${spec.code}`;
  let found = known.get(key);
  if (!found) known.set(key, (found = compile(device, spec)));
  return found;
}

/** A bind group of `program` over `bindings`, numbered from 0. */
export function bindGroup(device: GPUDevice, layout: GPUBindGroupLayout, bindings: Binding[]): GPUBindGroup {
  const entries = bindings.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } }));
  return device.createBindGroup({ layout, entries });
}

/** Workgroups for one thread per element, on as few rows as the device's limit per dimension allows. */
export function elementGroups(device: GPUDevice, elements: number, threads: number): [number, number] {
  const groups = Math.ceil(elements / threads);
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  return [Math.min(groups, limit), Math.ceil(groups / limit)];
}

/** A uniform block of u32 words with floats at some positions, written once. */
export function uniformBlock(device: GPUDevice, words: number[], floats: Record<number, number> = {}): GPUBuffer {
  const size = Math.max(16, Math.ceil((words.length * 4) / 16) * 16);
  const usage = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
  const buffer = device.createBuffer({ size, usage, mappedAtCreation: true });
  const mapped = buffer.getMappedRange();
  new Uint32Array(mapped).set(words);
  for (const [at, value] of Object.entries(floats)) new Float32Array(mapped)[Number(at)] = value;
  buffer.unmap();
  return buffer;
}
