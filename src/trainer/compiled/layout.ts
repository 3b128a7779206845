/// <reference types="@webgpu/types" />
// An explicit bind group layout for kernels whose entry points share one bind group but each use only some of its
// bindings (a pipeline's 'auto' layout would leave the others out).

export function computeLayout(
  device: GPUDevice,
  bindings: { uniform: number[]; read: number[]; write: number[] },
): GPUBindGroupLayout {
  const entry = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type },
  });
  const entries = [
    ...bindings.uniform.map((b) => entry(b, 'uniform')),
    ...bindings.read.map((b) => entry(b, 'read-only-storage')),
    ...bindings.write.map((b) => entry(b, 'storage')),
  ];
  return device.createBindGroupLayout({ entries });
}
