import { randomUUID } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { cancelled } from '../../libs/errors.js';

const TEMP_SUFFIX = '.aide-upload';

/** Temp files of puts in flight: hidden from listings. */
export const isUploadTemp = (name: string): boolean => name.startsWith('.') && name.endsWith(TEMP_SUFFIX);

async function writeFully(handle: FileHandle, piece: Uint8Array): Promise<void> {
  for (let done = 0; done < piece.byteLength;) {
    done += (await handle.write(piece, done)).bytesWritten;
  }
}

/**
 * Readers see the old file or the new one, whole, never a mix: the bytes go
 * to a temp file in the target's folder (same file system, so rename is
 * atomic), are fsynced, then renamed over the target; the folder is fsynced
 * so the rename survives a crash. Any failure removes the temp file.
 * Resolves to the number of bytes written.
 */
export async function writeAtomically(target: string, pieces: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<number> {
  const folder = path.dirname(target);
  const temp = path.join(folder, `.${randomUUID()}${TEMP_SUFFIX}`);
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
    if (signal.aborted) throw cancelled('write cancelled');
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const dir = await open(folder, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return written;
}
