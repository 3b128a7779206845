import { analyze } from './src/core/analysis';
import { parseDocument, LineCounter } from 'yaml';
import { readFileSync } from 'node:fs';
const seed = readFileSync('examples/seed.p2p.yaml','utf8');
for (let r=0;r<3;r++){
let s = performance.now(); for (let i=0;i<500;i++) analyze(seed); console.log('analyze', ((performance.now()-s)/500).toFixed(3));
s = performance.now(); for (let i=0;i<500;i++) parseDocument(seed, {lineCounter: new LineCounter()}); console.log('yaml', ((performance.now()-s)/500).toFixed(3));
}
