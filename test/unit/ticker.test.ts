import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ticker } from '../../src/client/ticker';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('progress ticker', () => {
  it('shows steps arriving faster than it refreshes at its own pace, and always the last one', async () => {
    let step = 0;
    const shown: number[] = [];
    const ticker = new Ticker(50, () => shown.push(step));
    // 40 steps, one every 5 ms or more: a debounce of 50 ms would show none until they stop.
    const start = Date.now();
    for (let i = 1; i <= 40; i++) {
      step = i;
      ticker.poke();
      await sleep(5);
    }
    const most = Math.ceil((Date.now() - start) / 50) + 1;
    await sleep(80);
    assert.ok(shown.length >= 3 && shown.length <= most, `refreshed ${shown.length} times: ${shown.join(', ')}`);
    assert.ok(shown[0] < 20, `the first refresh comes while steps still arrive (${shown[0]})`);
    assert.equal(shown[shown.length - 1], 40);
    ticker.dispose();
  });

  it('flushes at once on request, and not again for that poke', async () => {
    const shown: number[] = [];
    const ticker = new Ticker(30, () => shown.push(shown.length));
    ticker.poke();
    ticker.now();
    await sleep(50);
    assert.equal(shown.length, 1);
  });
});
