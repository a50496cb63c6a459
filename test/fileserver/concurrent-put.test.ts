import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { httpGet, startFixture, type Fixture } from './fixture.js';

const SIZE = 2 * 1024 * 1024;
const WRITERS = 8;
const ROUNDS = 3;

/** Version v: SIZE bytes, all equal to v. A reader that sees a mix saw a partial file. */
const version = (v: number) => Buffer.alloc(SIZE, v);

function assertWhole(bytes: Buffer, what: string): void {
  assert.equal(bytes.length, SIZE, `${what}: ${bytes.length} bytes`);
  const v = bytes[0]!;
  assert.ok(v >= 1 && v <= WRITERS * ROUNDS + 1, `${what}: unknown version ${v}`);
  assert.ok(bytes.equals(version(v)), `${what}: mixed versions`);
}

describe('concurrent puts of one path', () => {
  let fx: Fixture;
  let files: FileServerClient;
  before(async () => {
    fx = await startFixture();
    files = new FileServerClient({ project: 'alpha', client: fx.grpc });
    await files.putFile('race/target.bin', version(WRITERS * ROUNDS + 1));
  });
  after(async () => { await fx.close(); });

  it('readers see the old or a new file, whole; no temp file remains', async () => {
    let writing = true;
    const writers = (async () => {
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(Array.from({ length: WRITERS }, (_, w) => files.putFile('race/target.bin', version(round * WRITERS + w + 1))));
      }
      writing = false;
    })();
    let reads = 0;
    const reader = async (read: () => Promise<Buffer>, what: string) => {
      while (writing) {
        assertWhole(await read(), what);
        reads++;
      }
    };
    await Promise.all([
      writers,
      reader(async () => (await files.getFile('race/target.bin'))!, 'gRPC'),
      reader(async () => (await httpGet(fx.httpPort, '/files/alpha/race/target.bin')).body, 'HTTP'),
      reader(() => readFile(path.join(fx.root, 'alpha', 'race', 'target.bin')), 'disk'),
    ]);
    assert.ok(reads > 3, `only ${reads} reads overlapped the writes`);
    assertWhole(await readFile(path.join(fx.root, 'alpha', 'race', 'target.bin')), 'final');
    assert.deepEqual(await readdir(path.join(fx.root, 'alpha', 'race')), ['target.bin']);
  });
});
