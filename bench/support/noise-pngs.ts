/**
 * The data-path benchmarks' images: `count` distinct side×side PNGs of noise, reddish or bluish by parity (a
 * class a classifier can learn), compression level 1, reused cyclically by the benchmarks. The noise is a
 * xorshift stream, 7 bits on red and blue above the class's offset and 8 on green, so that zlib finds nothing to
 * squeeze: about 10 KB a file at 56×56, the size #22's upload figure asks for (a multiplicative
 * hash of the pixel index, used before, compressed to 2.5 KB).
 */
import sharp from 'sharp';

export function noisePngs(count: number, side: number): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    let x = (i + 1) * 2654435761 >>> 0 || 1;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const raw = Buffer.alloc(side * side * 3);
    for (let p = 0; p < side * side; p++) {
      const bits = next();
      raw[p * 3] = (i % 2 === 0 ? 128 : 0) + (bits & 0x7f);
      raw[p * 3 + 1] = (bits >>> 7) & 0xff;
      raw[p * 3 + 2] = (i % 2 === 0 ? 0 : 128) + ((bits >>> 15) & 0x7f);
    }
    return sharp(raw, { raw: { width: side, height: side, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
  }));
}
