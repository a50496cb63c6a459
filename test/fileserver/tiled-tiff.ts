/**
 * A huge tiled RGB TIFF in a few kilobytes, built in microseconds: every tile
 * entry points at the same compressed background tile, except one marker
 * tile. Readers that decode only the tiles a window touches read it at once;
 * decoding it whole would take gigabytes.
 */
import { deflateSync } from 'node:zlib';

export const TILE = 512;

export interface TiledTiff {
  width: number;
  height: number;
  background: [number, number, number];
  /** The one tile painted `colour`, by tile column and row. */
  marker: { column: number; row: number; colour: [number, number, number] };
}

function tileOf(colour: [number, number, number]): Buffer {
  const raw = Buffer.alloc(TILE * TILE * 3);
  for (let i = 0; i < raw.length; i += 3) raw.set(colour, i);
  // Compression 8 (Adobe Deflate) is a zlib stream.
  return deflateSync(raw);
}

/** The colour a reader must see at source pixel (x, y). */
export function colourAt(image: TiledTiff, x: number, y: number): [number, number, number] {
  const { column, row, colour } = image.marker;
  return Math.floor(x / TILE) === column && Math.floor(y / TILE) === row ? colour : image.background;
}

export function tiledTiff(image: TiledTiff): Buffer {
  const columns = Math.ceil(image.width / TILE);
  const tiles = columns * Math.ceil(image.height / TILE);
  const background = tileOf(image.background);
  const marker = tileOf(image.marker.colour);
  const markerIndex = image.marker.row * columns + image.marker.column;

  // Layout: header, background tile, marker tile, bits per sample, offsets, byte counts, IFD.
  const backgroundAt = 8;
  const markerAt = backgroundAt + background.length;
  const bitsAt = markerAt + marker.length;
  const offsetsAt = bitsAt + 6;
  const countsAt = offsetsAt + 4 * tiles;
  const ifdAt = countsAt + 4 * tiles;
  const entries: Array<[tag: number, type: 3 | 4, count: number, value: number]> = [
    [256, 4, 1, image.width], // ImageWidth
    [257, 4, 1, image.height], // ImageLength
    [258, 3, 3, bitsAt], // BitsPerSample 8, 8, 8
    [259, 3, 1, 8], // Compression: deflate
    [262, 3, 1, 2], // PhotometricInterpretation: RGB
    [277, 3, 1, 3], // SamplesPerPixel
    [284, 3, 1, 1], // PlanarConfiguration: interleaved
    [322, 3, 1, TILE], // TileWidth
    [323, 3, 1, TILE], // TileLength
    [324, 4, tiles, offsetsAt], // TileOffsets
    [325, 4, tiles, countsAt], // TileByteCounts
  ];
  const out = Buffer.alloc(ifdAt + 2 + 12 * entries.length + 4);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(ifdAt, 4);
  background.copy(out, backgroundAt);
  marker.copy(out, markerAt);
  for (let i = 0; i < 3; i++) out.writeUInt16LE(8, bitsAt + 2 * i);
  for (let i = 0; i < tiles; i++) {
    out.writeUInt32LE(i === markerIndex ? markerAt : backgroundAt, offsetsAt + 4 * i);
    out.writeUInt32LE(i === markerIndex ? marker.length : background.length, countsAt + 4 * i);
  }
  out.writeUInt16LE(entries.length, ifdAt);
  entries.forEach(([tag, type, count, value], i) => {
    const at = ifdAt + 2 + 12 * i;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(count, at + 4);
    // A single SHORT sits in the first two bytes of the value field; anything else is a LONG or an offset.
    if (type === 3 && count === 1) out.writeUInt16LE(value, at + 8);
    else out.writeUInt32LE(value, at + 8);
  });
  return out;
}
