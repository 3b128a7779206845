// What the walkthrough (package.json `contributes.walkthroughs`) names beside commands: the context keys its steps
// complete on (set by walkthrough.ts) and the examples `p2p.openExample` opens. Free of `vscode`, so that a plain
// Node test checks the manifest against them.

export const WALKTHROUGH_CONTEXT = {
  opened: 'p2p.walkthrough.configOpened',
  hovered: 'p2p.walkthrough.hoverRead',
  edited: 'p2p.walkthrough.configEdited',
} as const;

export type WalkthroughKey = (typeof WALKTHROUGH_CONTEXT)[keyof typeof WALKTHROUGH_CONTEXT];

/** The examples (`examples/<name>.p2p.yaml`, shipped in the package) the walkthrough opens. */
export const WALKTHROUGH_EXAMPLES = ['seed', 'tiny', 'seed-ablation'] as const;
