/**
 * PNGs taken apart into chunks and put back together with their CRCs recomputed: damage a checksum does not
 * give away (pixel data cut short, a bad filter byte, a wrong header field), for the checks of a PNG's
 * readability (services/fileserver/checked-png.ts).
 */
import { crc32, deflateSync, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngChunk {
  type: string;
  data: Buffer;
}

/** The chunks of a well-formed PNG, in order. */
export function pngChunks(png: Buffer): PngChunk[] {
  const chunks: PngChunk[] = [];
  for (let at = SIGNATURE.length; at < png.length; at += 12 + png.readUInt32BE(at)) {
    chunks.push({ type: png.toString('latin1', at + 4, at + 8), data: png.subarray(at + 8, at + 8 + png.readUInt32BE(at)) });
  }
  return chunks;
}

/** A PNG of these chunks, each with its right CRC. */
export function pngOf(chunks: readonly PngChunk[]): Buffer {
  return Buffer.concat([SIGNATURE, ...chunks.map(({ type, data }) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
    return Buffer.concat([head, data, crc]);
  })]);
}

/** The PNG with its pixel data (the IDAT chunks, inflated) changed by `edit`, deflated into one IDAT, CRCs right. */
export function withPixelData(png: Buffer, edit: (inflated: Buffer) => Buffer): Buffer {
  const chunks = pngChunks(png);
  const first = chunks.findIndex((c) => c.type === 'IDAT');
  const idat = chunks.filter((c) => c.type === 'IDAT');
  const data = deflateSync(edit(inflateSync(Buffer.concat(idat.map((c) => c.data)))));
  return pngOf([...chunks.slice(0, first), { type: 'IDAT', data }, ...chunks.slice(first + idat.length)]);
}
