// The embedded default data: two visually distinct, deterministic domains drawn as SVG (cartoon faces and
// garments), so the seed's cross-domain experiment (train on faces, test on fashion) runs on a fresh machine.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../core/random';

export type BuiltinSet = 'faces' | 'garments';
export const BUILTIN_SETS: Record<BuiltinSet, number> = { faces: 200, garments: 100 };
/** Bump when the drawings change, so cached sets are redrawn. */
const VERSION = 1;
const SIZE = 128;

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const between = (r: Rand, lo: number, hi: number) => lo + r() * (hi - lo);
const hsl = (h: number, s: number, l: number) => `hsl(${h.toFixed(0)},${s.toFixed(0)}%,${l.toFixed(0)}%)`;

function face(r: Rand): string {
  const bg = hsl(between(r, 0, 360), between(r, 20, 50), between(r, 70, 90));
  const skin = pick(r, ['#f1c7a5', '#e0ac8a', '#c68863', '#8d5a3b', '#f5d6c1', '#a86f4c']);
  const hair = pick(r, ['#2b1b10', '#5a3a1e', '#b8863b', '#d9c27a', '#7a2f1a', '#1c1c1c', '#9a9a9a']);
  const shirt = hsl(between(r, 0, 360), between(r, 40, 80), between(r, 30, 60));
  const iris = pick(r, ['#3b6ea5', '#4f8a3b', '#6b4a2b', '#2e2e2e']);
  const cx = 64 + between(r, -5, 5);
  const cy = 58 + between(r, -4, 4);
  const rx = between(r, 26, 33);
  const ry = between(r, 32, 40);
  const eyeY = cy - ry * 0.12;
  const eyeDx = rx * between(r, 0.36, 0.46);
  const mouthY = cy + ry * 0.5;
  const mouthW = rx * between(r, 0.35, 0.6);
  const smile = between(r, -4, 9);
  const hairTop = cy - ry - between(r, 2, 8);
  const longHair = r() < 0.4;
  const glasses = r() < 0.25;
  // Drawn after every other value: the faces depend on the order of the draws from r.
  const hairline =
    `M${cx - rx - 2} ${cy - ry * 0.25} Q${cx - rx} ${hairTop} ${cx} ${hairTop} ` +
    `Q${cx + rx} ${hairTop} ${cx + rx + 2} ${cy - ry * 0.25} ` +
    `Q${cx} ${cy - ry * between(r, 0.55, 0.8)} ${cx - rx - 2} ${cy - ry * 0.25} Z`;
  const spectacles = glasses
    ? `<g stroke="#222" stroke-width="1.5" fill="none"><circle cx="${cx - eyeDx}" cy="${eyeY}" r="8"/>` +
      `<circle cx="${cx + eyeDx}" cy="${eyeY}" r="8"/><path d="M${cx - eyeDx + 8} ${eyeY} L${cx + eyeDx - 8} ${eyeY}"/></g>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 128 128">
<rect width="128" height="128" fill="${bg}"/>
${longHair ? `<rect x="${cx - rx - 6}" y="${cy - 10}" width="${2 * rx + 12}" height="${ry + 30}" rx="14" fill="${hair}"/>` : ''}
<path d="M${cx - 40} 128 Q${cx} ${cy + ry - 4} ${cx + 40} 128 Z" fill="${shirt}"/>
<rect x="${cx - 9}" y="${cy + ry - 12}" width="18" height="20" fill="${skin}"/>
<ellipse cx="${cx - rx}" cy="${cy}" rx="5" ry="8" fill="${skin}"/>
<ellipse cx="${cx + rx}" cy="${cy}" rx="5" ry="8" fill="${skin}"/>
<ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="${skin}"/>
<path d="${hairline}" fill="${hair}"/>
<ellipse cx="${cx - eyeDx}" cy="${eyeY}" rx="6" ry="4" fill="#fff"/>
<ellipse cx="${cx + eyeDx}" cy="${eyeY}" rx="6" ry="4" fill="#fff"/>
<circle cx="${cx - eyeDx}" cy="${eyeY}" r="2.6" fill="${iris}"/>
<circle cx="${cx + eyeDx}" cy="${eyeY}" r="2.6" fill="${iris}"/>
<path d="M${cx - eyeDx - 7} ${eyeY - 8} L${cx - eyeDx + 6} ${eyeY - 9}" stroke="${hair}" stroke-width="2.5" stroke-linecap="round"/>
<path d="M${cx + eyeDx - 6} ${eyeY - 9} L${cx + eyeDx + 7} ${eyeY - 8}" stroke="${hair}" stroke-width="2.5" stroke-linecap="round"/>
<path d="M${cx} ${eyeY + 3} L${cx - 3} ${cy + ry * 0.25} L${cx + 2} ${cy + ry * 0.27}" stroke="#8a5a44" stroke-width="1.6" fill="none"/>
<path d="M${cx - mouthW} ${mouthY} Q${cx} ${mouthY + smile} ${cx + mouthW} ${mouthY}" stroke="#b03a3a" stroke-width="3" fill="none" stroke-linecap="round"/>
${spectacles}
</svg>`;
}

function garment(r: Rand): string {
  const bg = hsl(0, 0, between(r, 88, 97));
  const fabric = hsl(between(r, 0, 360), between(r, 30, 85), between(r, 25, 65));
  const accent = hsl(between(r, 0, 360), between(r, 30, 85), between(r, 20, 80));
  const kind = pick(r, ['tshirt', 'dress', 'trousers', 'skirt'] as const);
  const striped = r() < 0.45;
  const pattern = striped
    ? `<defs><pattern id="p" width="${between(r, 6, 14).toFixed(1)}" height="128" patternUnits="userSpaceOnUse" ` +
      `patternTransform="rotate(${pick(r, [0, 0, 45, 90])})"><rect width="128" height="128" fill="${fabric}"/>` +
      `<rect width="3" height="128" fill="${accent}"/></pattern></defs>`
    : '';
  const fill = striped ? 'url(#p)' : fabric;
  const w = between(r, 0.85, 1.1);
  const t = (x: number) => (64 + (x - 64) * w).toFixed(1);
  /** The garment through the path `d`, filled and outlined. */
  const outline = (d: string) => `<path d="${d}" fill="${fill}" stroke="#333" stroke-width="1"/>`;
  /** A belt or waistband in the accent colour; `x` and `width` are before the garment's horizontal scale. */
  const band = (x: number, y: number, width: number, height: number) =>
    `<rect x="${t(x)}" y="${y}" width="${(width * w).toFixed(1)}" height="${height}" fill="${accent}"/>`;
  let shape: string;
  switch (kind) {
    case 'tshirt':
      shape = outline(
        `M${t(40)} 22 L${t(20)} 36 L${t(28)} 54 L${t(38)} 48 L${t(38)} 112 L${t(90)} 112 L${t(90)} 48 ` +
          `L${t(100)} 54 L${t(108)} 36 L${t(88)} 22 Q64 34 ${t(40)} 22 Z`,
      );
      break;
    case 'dress':
      shape =
        outline(
          `M${t(50)} 16 L${t(52)} 40 L${t(30)} 114 L${t(98)} 114 L${t(76)} 40 L${t(78)} 16 L${t(70)} 16 ` +
            `Q64 26 ${t(58)} 16 Z`,
        ) + band(51, 44, 26, 4);
      break;
    case 'trousers':
      shape =
        outline(`M${t(42)} 14 L${t(86)} 14 L${t(92)} 116 L${t(70)} 116 L64 50 L${t(58)} 116 L${t(36)} 116 Z`) +
        band(42, 14, 44, 6);
      break;
    case 'skirt':
      shape = outline(`M${t(46)} 30 L${t(82)} 30 L${t(100)} 100 L${t(28)} 100 Z`) + band(46, 30, 36, 6);
      break;
  }
  const buttons =
    kind !== 'trousers' && r() < 0.5
      ? [0, 1, 2].map((i) => `<circle cx="64" cy="${56 + i * 12}" r="2" fill="${accent}"/>`).join('')
      : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 128 128"><rect width="128" height="128" fill="${bg}"/>${pattern}${shape}${buttons}</svg>`;
}

function svgFor(set: BuiltinSet, index: number): string {
  const r = mulberry32((set === 'faces' ? 0x0f00 : 0x6a00) + index * 7919);
  return set === 'faces' ? face(r) : garment(r);
}

/**
 * The folder of a builtin set under `root`, drawn (as PNG files) when absent. Written to a temporary folder
 * and renamed, so an interrupted run never leaves half a set behind.
 */
/** Sets being made by this process (a unique folder each). */
let making = 0;

export async function ensureBuiltinSet(set: BuiltinSet, root: string): Promise<string> {
  const dir = join(root, `${set}-v${VERSION}`);
  const complete = () =>
    existsSync(dir) && readdirSync(dir).filter((f) => f.endsWith('.png')).length === BUILTIN_SETS[set];
  if (complete()) return dir;
  const { default: sharp } = await import('sharp');
  const tmp = `${dir}.tmp-${process.pid}-${++making}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (let i = 0; i < BUILTIN_SETS[set]; i++) {
    const png = await sharp(Buffer.from(svgFor(set, i)))
      .png()
      .toBuffer();
    writeFileSync(join(tmp, `${set.slice(0, -1)}-${String(i).padStart(3, '0')}.png`), png);
  }
  // Processes that started together (variants of a sweep) each made a copy: the first one renamed into place wins
  // (a rename onto a folder that holds files fails), and a finished set is never removed under a reader.
  try {
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!complete())
      throw new Error(`${dir} holds an incomplete set (${(e as Error).message}); delete it to make it again`);
  }
  return dir;
}
