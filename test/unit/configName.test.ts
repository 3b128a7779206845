// A config's default name, the one rule the language server (from a URI), the trainer and the sweep runner share.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configNameOf } from '../../src/core/modelPlan';

describe("a config's default name", () => {
  it('is the file name without .p2p.yaml, from a path or a URI, else config', () => {
    assert.equal(configNameOf('/work/examples/seed.p2p.yaml'), 'seed');
    assert.equal(configNameOf('C:\\runs\\tiny.p2p.yml'), 'tiny');
    assert.equal(configNameOf(decodeURIComponent('file:///x/my%20model.p2p.yaml')), 'my model');
    assert.equal(configNameOf('notes.yaml'), 'notes.yaml');
    assert.equal(configNameOf('/x/.p2p.yaml'), 'config');
  });
});
