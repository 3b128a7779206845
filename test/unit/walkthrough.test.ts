// The Welcome page's walkthrough as the manifest declares it: every step completes on an event that can happen
// (a command the extension registers, or a context key it sets), every command link and example it names exists,
// and every media file ships.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WALKTHROUGH_CONTEXT, WALKTHROUGH_EXAMPLES } from '../../src/client/walkthroughKeys';

const root = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const registered = new Set(
  readdirSync(join(root, 'src', 'client'))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => [...readFileSync(join(root, 'src', 'client', f), 'utf8').matchAll(/registerCommand\('([\w.]+)'/g)])
    .map((m) => m[1]),
);

interface Step {
  id: string;
  description: string;
  media: { image?: string; markdown?: string };
  completionEvents: string[];
}

describe('the walkthrough', () => {
  const [walkthrough] = manifest.contributes.walkthroughs as { id: string; steps: Step[] }[];

  it('has the steps of a first hour: the seed, a hover, a skip, tiny trained, the panel, the ablation', () => {
    assert.deepEqual(
      walkthrough.steps.map((s) => s.id),
      ['openSeed', 'readHover', 'flipSkip', 'trainTiny', 'readPanel', 'runAblation'],
    );
  });

  it('completes each step on a registered command or a context key the extension sets', () => {
    const keys = new Set<string>(Object.values(WALKTHROUGH_CONTEXT));
    const contributed = new Set((manifest.contributes.commands as { command: string }[]).map((c) => c.command));
    for (const step of walkthrough.steps) {
      assert.ok(step.completionEvents.length, step.id);
      for (const event of step.completionEvents) {
        const [kind, name] = event.split(':');
        if (kind === 'onCommand') assert.ok(registered.has(name) && contributed.has(name), `${step.id}: ${name}`);
        else assert.ok(kind === 'onContext' && keys.has(name), `${step.id}: ${event}`);
      }
    }
  });

  it('links only registered commands and shipped examples, and ships its media', () => {
    for (const step of walkthrough.steps) {
      for (const [, command, args] of step.description.matchAll(/\(command:([\w.]+)(?:\?([^)]*))?\)/g)) {
        assert.ok(registered.has(command), `${step.id}: ${command}`);
        if (command !== 'p2p.openExample') continue;
        const [example] = JSON.parse(decodeURIComponent(args));
        assert.ok((WALKTHROUGH_EXAMPLES as readonly string[]).includes(example), example);
        assert.ok(existsSync(join(root, 'examples', `${example}.p2p.yaml`)), example);
      }
      const media = step.media.image ?? step.media.markdown!;
      assert.ok(media.startsWith('media/') && existsSync(join(root, media)), `${step.id}: ${media}`);
    }
  });
});
