import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serversRequired } from '../support/nats.js';
import { startTestMesh } from './mesh.js';
import { writeTiles } from './tiles.js';

const run = promisify(execFile);

/** Debian's interpreter: the one that sees python3-grpcio (the first python3 on PATH may be another). */
const python = process.env.AIDE_TEST_PYTHON ?? '/usr/bin/python3';

/** Why the Python client cannot be generated and run here, or undefined when it can. */
async function missingTools(): Promise<string | undefined> {
  try {
    await run('protoc', ['--version']);
    await run('sh', ['-c', 'command -v grpc_python_plugin']);
    await run(python, ['-c', 'import grpc, google.protobuf']);
    return undefined;
  } catch (err) {
    return `needs protoc, grpc_python_plugin and ${python} with grpcio + protobuf (${(err as Error).message.split('\n')[0]})`;
  }
}

test('the generated Python client runs the example end to end against the mesh', async (t) => {
  const missing = await missingTools();
  if (missing) {
    // CI installs the tools (.ci/run); there a missing tool is a failure, not a skip.
    if (serversRequired()) throw new Error(`AIDE_TEST_REQUIRE_SERVERS=1 but ${missing}`);
    t.skip(missing);
    return;
  }
  const gen = mkdtempSync(join(tmpdir(), 'aide-pygen-'));
  const [mesh, tiles] = await Promise.all([startTestMesh(t), writeTiles(12), run('clients/python/generate.sh', [gen])]);

  const { stdout } = await run(python, [
    'clients/python/example.py', '--address', mesh.controller, '--fileserver', mesh.fileServer.grpc, '--images', tiles, '--project', 'py-demo',
  ], { env: { ...process.env, AIDE_TOKEN: mesh.adminToken, AIDE_PYTHON_GEN: gen }, timeout: 45_000 });

  assert.match(stdout, /^created project py-demo$/m);
  assert.match(stdout, /^uploaded 12 images, registered 12$/m);
  assert.match(stdout, /^labelled 6 images with 3 classes$/m);
  assert.match(stdout, /^ {2}\[\d+\/\d+\] JOB_STATE_RUNNING /m, 'progress events were streamed');
  assert.match(stdout, /^workflow JOB_STATE_SUCCEEDED$/m);
  const ranked = (stdout.split('annotate next:\n')[1] ?? '').trimEnd().split('\n');
  assert.equal(ranked.length, 5, stdout);
  const priorities = ranked.map((l) => Number(l.trim().split(/\s+/)[0]));
  assert.ok(ranked.every((l) => /^ {2}\d\.\d{3} {2}tiles\/\w+_\d{3}\.jpg$/.test(l)), stdout);
  assert.deepEqual([...priorities].sort((a, b) => b - a), priorities, 'most useful first');
});
