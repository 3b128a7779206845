// `model.summary()` as Keras 2 prints it for functional models (columns at 33/55/67, 100-wide rules).

import type { ModelGraph, Shape } from './graph';

const LINE_LENGTH = 100;
const POSITIONS = [33, 55, 67, 100];

/** Keras `print_row`: each field is cut at its column end and its last character yields to a space. */
function row(fields: readonly string[]): string {
  let line = '';
  fields.forEach((field, i) => {
    if (i > 0) line = line.slice(0, -1) + ' ';
    line += field;
    line = line.slice(0, POSITIONS[i]);
    line += ' '.repeat(POSITIONS[i] - line.length);
  });
  return line.trimEnd();
}

export function kerasShape(shape: Shape): string {
  return `(${['None', ...shape.map(String)].join(', ')})`;
}

function withCommas(n: number): string {
  return n.toLocaleString('en-US');
}

/** The summary text, trailing spaces trimmed, lines joined with \n and a final newline. */
export function kerasSummary(graph: ModelGraph): string {
  const out: string[] = [];
  out.push('_'.repeat(LINE_LENGTH));
  out.push(row(['Layer (type)', 'Output Shape', 'Param #', 'Connected to']));
  out.push('='.repeat(LINE_LENGTH));
  graph.layers.forEach((layer, i) => {
    const connections = layer.inbound.map((name) => `${name}[0][0]`);
    out.push(
      row([
        `${layer.name} (${layer.className})`,
        kerasShape(layer.outputShape),
        String(layer.params),
        connections[0] ?? '',
      ]),
    );
    for (const more of connections.slice(1)) out.push(row(['', '', '', more]));
    out.push((i === graph.layers.length - 1 ? '=' : '_').repeat(LINE_LENGTH));
  });
  out.push(`Total params: ${withCommas(graph.totals.params)}`);
  out.push(`Trainable params: ${withCommas(graph.totals.trainableParams)}`);
  out.push(`Non-trainable params: ${withCommas(graph.totals.nonTrainableParams)}`);
  out.push('_'.repeat(LINE_LENGTH));
  return out.join('\n') + '\n';
}
