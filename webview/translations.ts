// The Compare tab's translations: a drop zone and a file picker that translate an image with the selected runs,
// then per image the original and each run's transformed input and output side by side, and an A/B view of two
// outputs: B over A split by a slider, a flicker between them, or their absolute difference (made by the host).

import type { AbState, PanelTranslation } from '../src/protocol/panel';
import { escapeHtml as esc } from '../src/core/html';

/** Absolute-difference images the host made, by `image:a:b`. */
export const differences = new Map<string, { uri: string; max: number }>();
let flicker: ReturnType<typeof setInterval> | undefined;

export function dropZone(selected: number): string {
  const what = selected ? `with the ${selected} selected run${selected === 1 ? '' : 's'}` : 'after selecting runs';
  return `<div class="dropzone" tabindex="0" aria-label="Drop an image to translate">Drop an image here
(Shift while dragging), or <button data-pick-image>Choose image…</button> to translate it ${what}.</div>`;
}

const figure = (caption: string, uri: string, alt: string) =>
  `<figure><figcaption>${caption}</figcaption><img class="sample translation" src="${uri}" alt="${esc(alt)}"></figure>`;

export function translationView(t: PanelTranslation, ab: AbState): string {
  return t.images
    .map((img, i) => {
      const outputs = img.outputs
        .map(
          (o) =>
            figure(`${esc(o.label)} · input`, o.input, `${o.label} input`) +
            figure(
              `${esc(o.label)} · step ${o.step}${o.mode === 'training' ? ' (training mode)' : ''}`,
              o.output,
              o.label,
            ),
        )
        .join('');
      const original = figure(`${esc(img.name)} · original`, img.original, img.name);
      const abView = img.outputs.length >= 2 ? abSection(t, i, ab) : '';
      return `<section class="translation"><div class="side-by-side">${original}${outputs}</div>${abView}</section>`;
    })
    .join('');
}

function abSection(t: PanelTranslation, image: number, ab: AbState): string {
  const outputs = t.images[image].outputs;
  const a = Math.min(ab.a, outputs.length - 1);
  const b = Math.min(ab.b, outputs.length - 1);
  const select = (which: 'a' | 'b', chosen: number) =>
    `<select data-ab="${which}">${outputs.map((o, k) => `<option value="${k}" ${k === chosen ? 'selected' : ''}>${esc(o.label)}</option>`).join('')}</select>`;
  const mode = (m: AbState['mode'], label: string) =>
    `<label><input type="radio" name="ab-mode-${image}" data-ab-mode="${m}" ${ab.mode === m ? 'checked' : ''}> ${label}</label>`;
  const modes = `${mode('slider', 'Slider')}${mode('flicker', 'Flicker')}${mode('difference', 'Difference')}`;
  const controls = `<div class="controls">A ${select('a', a)} B ${select('b', b)} ${modes}</div>`;
  return `<div class="ab" data-image="${image}"><h3>A/B</h3>${controls}${abBody(outputs, image, a, b, ab)}</div>`;
}

function abBody(
  outputs: PanelTranslation['images'][number]['outputs'],
  image: number,
  a: number,
  b: number,
  ab: AbState,
): string {
  const [A, B] = [outputs[a], outputs[b]];
  if (ab.mode === 'slider')
    return `<div class="ab-stack"><img class="ab-a" src="${A.output}" alt="A"><img class="ab-b" src="${B.output}" alt="B"></div>
<input type="range" min="0" max="100" value="${ab.split}" data-ab-split aria-label="A/B split">`;
  if (ab.mode === 'flicker')
    return `<img class="ab-flicker" src="${A.output}" data-a="${A.output}" data-b="${B.output}" alt="A and B in turn">`;
  const diff = differences.get(`${image}:${a}:${b}`);
  return diff
    ? `<figure><figcaption>|A − B| · largest ${diff.max} of 255</figcaption><img class="ab-difference" src="${diff.uri}" alt="difference"></figure>`
    : '<p class="muted">making the difference…</p>';
}

/** After a render: B clipped left of the slider, the flicker timer, and the differences still to ask the host for. */
export function mountAb(root: HTMLElement, ab: AbState, ask: (image: number, a: number, b: number) => void): void {
  clearInterval(flicker);
  for (const img of Array.from(root.querySelectorAll<HTMLImageElement>('.ab-b')))
    img.style.clipPath = `inset(0 0 0 ${ab.split}%)`;
  const flickering = Array.from(root.querySelectorAll<HTMLImageElement>('.ab-flicker'));
  let showingB = false;
  if (flickering.length)
    flicker = setInterval(() => {
      showingB = !showingB;
      for (const img of flickering) img.src = showingB ? img.dataset.b! : img.dataset.a!;
    }, 600);
  if (ab.mode !== 'difference') return;
  for (const el of Array.from(root.querySelectorAll<HTMLElement>('.ab'))) {
    const image = Number(el.dataset.image);
    const [a, b] = Array.from(el.querySelectorAll<HTMLSelectElement>('select[data-ab]')).map((s) => Number(s.value));
    if (!differences.has(`${image}:${a}:${b}`)) ask(image, a, b);
  }
}

/** A dropped image file as base64, for the host to translate. */
export function readDropped(file: File): Promise<{ name: string; base64: string }> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ name: file.name, base64: String(reader.result).replace(/^data:[^,]*,/, '') });
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
