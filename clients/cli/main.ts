/**
 * `aide`: the mesh's administration CLI (`npm run aide -- --help`). Exit codes:
 * 0 done, 1 failed (service error, unreachable service, job not succeeded),
 * 2 bad arguments.
 */
import { describeFailure } from './failure.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync();
} catch (err) {
  const { lines, exitCode } = describeFailure(err);
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
}
