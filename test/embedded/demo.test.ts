import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The README's first command, end to end: `npm start` (here with --once, on free ports) must run the demo green. */
test('npm start: the embedded mesh trains the built-in CNN, says what it learned, and names the next images', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/embedded/main.ts', '--once'], {
    env: {
      ...process.env,
      AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0',
      AIDE_RANKER_HOST: '127.0.0.1', AIDE_RANKER_PORT: '0',
      AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0',
      AIDE_AIWORKER_HOST: '127.0.0.1',
      AIDE_FILESERVER_ROOT: mkdtempSync(join(tmpdir(), 'aide-demo-')),
      AIDE_DATABASE_URL: '', DATABASE_URL: '', AIDE_NATS_URL: '',
      AIDE_PROFILE: join(mkdtempSync(join(tmpdir(), 'aide-demo-profile-')), 'profile.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const started = performance.now();
  const [code] = await once(child, 'exit');
  const seconds = (performance.now() - started) / 1000;
  assert.equal(code, 0, `exit ${code}\n${out}\n${err}`);
  assert.match(out, /admin token\s+aide_/);
  assert.match(out, /workflow JOB_STATE_SUCCEEDED/);
  // The built-in CNN trained, and the demo says how well, from the state's statistics.
  const learned = /the CNN learned: held-out accuracy (\d+) % on (\d+) labelled tiles it did not train on .*training loss (\d+\.\d+) after \d+ epochs on (\d+) tiles/.exec(out);
  assert.ok(learned, out);
  const [accuracy, heldOut, , trained] = [Number(learned[1]), Number(learned[2]), Number(learned[3]), Number(learned[4])];
  assert.ok(heldOut > 0 && trained > 0 && heldOut + trained === 30, `held out ${heldOut} + trained ${trained} = the 30 labelled tiles`);
  assert.ok(accuracy > 100 / 3, `the CNN does better than chance on tiles it did not see: ${accuracy} %`);
  const next = out.split('annotate these next')[1] ?? '';
  const lines = next.split('\n').filter((l) => /^\s+\d\.\d{3}\s+tiles\/tile_\d{3}\.jpg/.test(l));
  assert.equal(lines.length, 5, out);
  const priorities = lines.map((l) => Number(l.trim().split(/\s+/)[0]));
  assert.deepEqual([...priorities].sort((a, b) => b - a), priorities, 'most useful first');
  assert.ok(seconds < 180, `demo took ${seconds.toFixed(0)} s`);
});
