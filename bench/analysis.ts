// Median time to parse + validate + resolve + build both graphs for the seed config, against the floor of
// plain YAML parsing (the `yaml` package alone) measured in the same process.
// Run: npm run bench:analysis

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { analyze } from '../src/core/analysis';
import { kerasSummary } from '../src/core/kerasSummary';

const text = readFileSync(join(__dirname, '..', 'examples', 'seed.p2p.yaml'), 'utf8');

function measure(fn: () => unknown, rounds = 2000): { median: number; p95: number } {
  for (let i = 0; i < 300; i++) fn(); // warm-up: let the JIT settle
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(rounds / 2)], p95: times[Math.floor(rounds * 0.95)] };
}

const full = measure(() => analyze(text));
const withSummary = measure(() => kerasSummary(analyze(text).generator!));
const yamlOnly = measure(() => parse(text));

const row = (name: string, m: { median: number; p95: number }) =>
  console.log(
    `${name.padEnd(44)} median ${m.median.toFixed(3)} ms   p95 ${m.p95.toFixed(3)} ms   ${(m.median / yamlOnly.median).toFixed(2)}x yaml.parse`,
  );
console.log(`seed config (${text.length} chars), ${full.median < 2 ? 'within' : 'OVER'} the 2 ms target`);
row('analyze (parse+validate+resolve+graphs)', full);
row('analyze + Keras summary text', withSummary);
row('peer: yaml.parse alone', yamlOnly);
