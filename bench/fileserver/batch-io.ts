/**
 * The FileServer's batch calls against the per-item calls they replace, in
 * the same run, on the same files, over a real gRPC connection on loopback
 * (server and client in this process, as a worker reaches a FileServer):
 *
 *   read:   the built-in models' loader on N small PNGs at their input size —
 *           ReadImages (FileSource.getImages) vs one ReadImage per image with
 *           8 in flight (the loader before batches), and the ceiling: sharp
 *           alone reading and decoding the same files in this process
 *   upload: N files of 10 KB — one PutFiles stream vs one PutFile per file
 *           with 8 in flight
 *
 *   node --import tsx bench/fileserver/batch-io.ts [images=4000] [size=28] [rounds=3]
 *
 * Prints a table and `figure <name> <value>` lines (rates are the median of the rounds).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import pMap from 'p-map';
import sharp from 'sharp';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { createClient, startServer } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { loadSizedImages } from '../../models/builtin/image-loader.js';
import { fileServiceEntry } from '../../services/fileserver/service.js';
import { openFileStore } from '../../services/fileserver/store.js';

const images = Number(process.argv[2] ?? 4000);
const size = Number(process.argv[3] ?? 28);
const rounds = Number(process.argv[4] ?? 3);

const tmp = await mkdtemp(path.join(tmpdir(), 'aide-batch-io-'));
const store = await openFileStore({ root: path.join(tmp, 'root') });
const folder = path.join(store.root, 'p', 'tiles');
await mkdir(folder, { recursive: true });
const paths = Array.from({ length: images }, (_, i) => `tiles/${i}.png`);
// 64×48 tiles with some texture, so decoding and resizing do real work.
await pMap(paths, async (p, i) => {
  const raw = randomBytes(64 * 48 * 3).map((b) => (b & 0x3f) + (i % 192));
  await writeFile(path.join(store.root, 'p', p), await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer());
}, { concurrency: 8 });

const server = await startServer({
  name: 'fileserver', host: '127.0.0.1', port: 0, reflection: false, logger: createLogger('bench', 'silent'),
  services: [fileServiceEntry(store)],
});
const grpc = createClient(FileServiceService, server.address);
const files = new FileServerClient({ project: 'p', client: grpc });
// The same client without getImages: the loader falls back to one ReadImage per image.
const oneByOne = { getFile: (p: string) => files.getFile(p), getImage: files.getImage.bind(files) };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function rate(run: (round: number) => Promise<unknown>, items: number): Promise<number> {
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    await run(round);
    rates.push(items / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

const batchedRead = await rate(() => loadSizedImages(files, paths, size), images);
const singleRead = await rate(() => loadSizedImages(oneByOne, paths, size), images);
const decoderAlone = await rate(() => pMap(paths, async (p) => sharp(await readFile(path.join(store.root, 'p', p)))
  .resize({ width: size, height: size, fit: 'fill' }).removeAlpha().raw().toBuffer(), { concurrency: availableParallelism() }), images);

const content = randomBytes(10_000);
const uploads = (round: number, kind: string) => paths.map((_, i) => ({ path: `up-${kind}-${round}/${i}.bin`, content }));
const batchedUpload = await rate((round) => files.putFiles(uploads(round, 'batch')), images);
const singleUpload = await rate((round) => pMap(uploads(round, 'single'), (f) => files.putFile(f.path, f.content), { concurrency: 8 }), images);

grpc.close();
await server.shutdown(1000);
await rm(tmp, { recursive: true, force: true });

const rows: [string, number, number, string][] = [
  [`read ${images} PNGs at ${size}×${size} (images/s)`, batchedRead, singleRead, decoderAlone.toFixed(0)],
  [`upload ${images} files of 10 KB (files/s)`, batchedUpload, singleUpload, '–'],
];
console.log('| what | batch call | per item (8 in flight) | ratio | sharp alone, in process |\n|---|---|---|---|---|');
for (const [what, batch, single, alone] of rows) console.log(`| ${what} | ${batch.toFixed(0)} | ${single.toFixed(0)} | ${(batch / single).toFixed(2)} | ${alone} |`);
console.log(`figure read_images_per_s ${batchedRead.toFixed(0)}`);
console.log(`figure read_images_vs_read_image ${(batchedRead / singleRead).toFixed(2)}`);
console.log(`figure read_images_vs_decoder ${(batchedRead / decoderAlone).toFixed(2)}`);
console.log(`figure upload_files_per_s ${batchedUpload.toFixed(0)}`);
console.log(`figure put_files_vs_put_file ${(batchedUpload / singleUpload).toFixed(2)}`);
