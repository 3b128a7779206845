// The smallest config that trains like a real one: a 3-level U-Net at 16x16 on wasm (about 20 steps a second on one
// core, 50 steps per epoch of the 200 builtin faces), for tests that run the trainer as a process.

/** `micro` with evaluations every `sampleEvery` epochs, and `epochs` when given. */
export function microConfig(sampleEvery: number, epochs?: number): string {
  return `name: micro
input: { size: 16 }
generator: { filters: 4, levels: 3, dropout: { levels: [1] } }
discriminator: { patch: 8, filters: 4, layers: 2 }
train:
  data: { train: builtin:faces, test: builtin:garments, transform: canny }
  batchSize: 4
${epochs === undefined ? '' : `  epochs: ${epochs}\n`}  sampleEvery: ${sampleEvery}
  backend: wasm
  seed: 3
`;
}
