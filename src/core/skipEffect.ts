// What switching one skip connection changes, computed by building the graph both ways.

import type { ResolvedConfig } from './config';
import { generatorGraph, type ModelGraph } from './graph';

export interface SkipEffect {
  level: number;
  /** The skip's state now and after flipping. */
  now: boolean;
  paramsNow: number;
  paramsFlipped: number;
  macsNow: number;
  macsFlipped: number;
  /** The convolution right after this level reads the concatenation (or not). */
  nextConv: { name: string; inputChannelsNow: number; inputChannelsFlipped: number };
}

function convInputChannels(graph: ModelGraph, convName: string): number {
  const conv = graph.layers.find((l) => l.name === convName);
  const source = conv && graph.layers.find((l) => l.name === conv.inbound[0]);
  return source ? source.outputShape[source.outputShape.length - 1] : 0;
}

export function skipEffect(config: ResolvedConfig, level: number, now?: ModelGraph): SkipEffect | undefined {
  const entry = config.generator.decoder[level - 1];
  if (!entry) return undefined;
  const before = now ?? generatorGraph(config);
  const flipped: ResolvedConfig = {
    ...config,
    generator: {
      ...config.generator,
      decoder: config.generator.decoder.map((d) => (d.level === level ? { ...d, skip: !d.skip } : d)),
    },
  };
  const after = generatorGraph(flipped);
  const next = level < config.generator.decoder.length ? `unet_upconv2D_${level + 1}` : 'last_conv';
  return {
    level,
    now: entry.skip,
    paramsNow: before.totals.params,
    paramsFlipped: after.totals.params,
    macsNow: before.totals.macs,
    macsFlipped: after.totals.macs,
    nextConv: {
      name: next,
      inputChannelsNow: convInputChannels(before, next),
      inputChannelsFlipped: convInputChannels(after, next),
    },
  };
}
