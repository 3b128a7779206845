// `npm run test:electron`: downloads VS Code (needs the internet, so CI uses code-server instead: test/e2e) and
// runs test/electron/suite.ts inside its extension host against the packaged extension folder.
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main() {
  const root = join(__dirname, '..', '..');
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'out', 'electron', 'suite.js'),
    launchArgs: [join(root, 'examples'), '--disable-extensions', '--disable-workspace-trust'],
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
