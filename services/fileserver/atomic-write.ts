import { randomUUID } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import pMap from 'p-map';
import { cancelled } from '../../libs/errors.js';

const TEMP_SUFFIX = '.aide-upload';

/** Temp files of puts in flight: hidden from listings. */
export const isUploadTemp = (name: string): boolean => name.startsWith('.') && name.endsWith(TEMP_SUFFIX);

async function writeFully(handle: FileHandle, piece: Uint8Array): Promise<void> {
  for (let done = 0; done < piece.byteLength;) {
    done += (await handle.write(piece, done)).bytesWritten;
  }
}

/** The pieces in a new temp file beside `target` (same file system, so a rename is atomic), fsynced. */
async function writeTemp(target: string, pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal: AbortSignal): Promise<{ temp: string; written: number }> {
  const temp = path.join(path.dirname(target), `.${randomUUID()}${TEMP_SUFFIX}`);
  const handle = await open(temp, 'wx', 0o644);
  let written = 0;
  try {
    try {
      for await (const piece of pieces) {
        if (signal.aborted) throw cancelled('write cancelled');
        await writeFully(handle, piece);
        written += piece.byteLength;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return { temp, written };
}

/** So the renames into it survive a crash. */
async function syncFolder(folder: string): Promise<void> {
  const dir = await open(folder, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Readers see the old file or the new one, whole, never a mix: the bytes go
 * to a temp file in the target's folder, are fsynced, then renamed over the
 * target; the folder is fsynced so the rename survives a crash. Any failure
 * removes the temp file. Resolves to the number of bytes written.
 */
export async function writeAtomically(target: string, pieces: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<number> {
  const { temp, written } = await writeTemp(target, pieces, signal);
  try {
    if (signal.aborted) throw cancelled('write cancelled');
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncFolder(path.dirname(target));
  return written;
}

/**
 * writeAtomically for many small files at once: written and fsynced
 * `concurrency` at a time, renamed only once all are on disk (a failure
 * leaves none of them, and removes every temp file), each folder fsynced
 * once. Resolves to the number of bytes written.
 */
export async function writeFilesAtomically(
  files: readonly { target: string; content: Uint8Array }[], signal: AbortSignal, concurrency = 8,
): Promise<number> {
  const temps: (string | undefined)[] = new Array(files.length);
  let renamed = 0;
  try {
    const written = await pMap(files.entries(), async ([i, { target, content }]) => {
      const { temp, written: n } = await writeTemp(target, [content], signal);
      temps[i] = temp;
      return n;
    }, { concurrency, signal });
    if (signal.aborted) throw cancelled('write cancelled');
    for (; renamed < files.length; renamed++) await rename(temps[renamed]!, files[renamed]!.target);
    await Promise.all([...new Set(files.map((f) => path.dirname(f.target)))].map(syncFolder));
    return written.reduce((a, b) => a + b, 0);
  } catch (err) {
    await Promise.all(temps.slice(renamed).map((t) => t && rm(t, { force: true })));
    throw err;
  }
}
