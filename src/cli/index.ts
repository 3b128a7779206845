import { readFileSync } from 'node:fs';
import { runCli } from './main';
import { runAblate } from './ablate';
import { runEvaluateCli } from './evaluate';
import { runExport } from './export';
import { runProbeCli } from './probe';
import { runSweepTask } from './sweepTask';
import { runTranslateCli } from './translate';
import { runTrain } from './train';

const argv = process.argv.slice(2);
if (argv[0] === 'train') {
  void runTrain(argv.slice(1)).then((code) => (process.exitCode = code));
} else if (argv[0] === 'ablate') {
  void runAblate(argv.slice(1)).then((code) => (process.exitCode = code));
} else if (argv[0] === 'translate') {
  void runTranslateCli(argv.slice(1)).then((code) => (process.exitCode = code));
} else if (argv[0] === 'evaluate') {
  void runEvaluateCli(argv.slice(1)).then((code) => (process.exitCode = code));
} else if (argv[0] === 'probe') {
  void runProbeCli(argv.slice(1)).then((code) => (process.exitCode = code));
} else if (argv[0] === 'export') {
  process.exitCode = runExport(argv.slice(1));
} else if (argv[0] === 'sweep-task') {
  void runSweepTask(argv.slice(1)).then((code) => (process.exitCode = code));
} else {
  process.exitCode = runCli(argv, {
    readFile: (path) => readFileSync(path, 'utf8'),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
