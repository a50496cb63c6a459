/**
 * PutFiles: a folder of small images uploaded in one stream instead of one
 * PutFile call per file. Each message is checked whole (paths, sizes,
 * checksums) before any of its files touches the disk, then written
 * atomically as a group; the next message is read only after that, so
 * memory stays at about one message whatever the upload's size.
 */
import { createHash } from 'node:crypto';
import { AideError, dataLoss, invalidField, isAideError, resourceExhausted } from '../../libs/errors.js';
import { fsError } from '../../libs/files/fs-errors.js';
import { resolveForWrite } from '../../libs/files/safe-path.js';
import type { PutFilesRequest, PutFilesResponse } from '../../libs/gen/aide/v1/fileserver.js';
import { writeFilesAtomically } from './atomic-write.js';
import type { FileStore } from './store.js';

/** The project of a PutFiles call: the first message's; later messages leave it empty or repeat it. */
export function callProject(first: string, message: PutFilesRequest): string {
  if (message.project !== '' && message.project !== first) throw invalidField('project', `one call writes to one project ('${first}')`);
  return first;
}

export async function putFiles(store: FileStore, requests: AsyncIterable<PutFilesRequest>, signal: AbortSignal): Promise<PutFilesResponse> {
  const written = { files: 0, bytes: 0 };
  try {
    return await writeMessages(store, requests, signal, written);
  } catch (err) {
    // Earlier messages' files stay: say how many, so a client resends from the message that failed.
    if (written.files > 0) {
      const e = fsError(err, '');
      throw new AideError(e.kind, `${e.message} (after ${written.files} files of earlier messages were written)`, e.fieldViolations);
    }
    throw err;
  }
}

async function writeMessages(
  store: FileStore, requests: AsyncIterable<PutFilesRequest>, signal: AbortSignal, written: { files: number; bytes: number },
): Promise<PutFilesResponse> {
  let project: string | undefined;
  for await (const message of requests) {
    project = project === undefined ? message.project : callProject(project, message);
    const checked = message.files.map((f, i) => {
      if (f.content.byteLength > store.maxPutBytes) {
        throw resourceExhausted(`${f.path}: ${f.content.byteLength} bytes exceed the limit of ${store.maxPutBytes} bytes`);
      }
      if (!createHash('sha256').update(f.content).digest().equals(f.sha256)) {
        throw dataLoss(`${f.path}: the content does not match its SHA-256 (files[${i}]); nothing of this message was written`);
      }
      return f;
    });
    const targets = [];
    for (const [i, f] of checked.entries()) {
      try {
        targets.push({ target: (await resolveForWrite(store.root, project, f.path)).absolute, content: f.content });
      } catch (err) {
        // The field names the file in this message, so a client knows which one to fix.
        if (isAideError(err, 'INVALID_ARGUMENT') && err.fieldViolations[0]?.field === 'path') {
          throw invalidField(`files[${i}].path`, err.fieldViolations[0].description);
        }
        throw err;
      }
    }
    try {
      written.bytes += await writeFilesAtomically(targets, signal);
    } catch (err) {
      throw fsError(err, checked.map((f) => f.path).join(', '));
    }
    written.files += checked.length;
  }
  return { ...written };
}
