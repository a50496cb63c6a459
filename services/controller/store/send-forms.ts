/**
 * Values read in Postgres's binary send forms (uuid_send, float8send,
 * array_send: network byte order), which a query hands over as bytea: the
 * driver then decodes one hex string per column instead of parsing text
 * numbers and text arrays value by value. node-postgres's own binary parsers
 * (pg-types) have no float8 arrays.
 */

/** Concatenated float8send values as numbers (null: none). */
export function float8s(bytes: Buffer | null): number[] {
  const out = new Array<number>(bytes ? bytes.length / 8 : 0);
  for (let i = 0; i < out.length; i++) out[i] = bytes!.readDoubleBE(i * 8);
  return out;
}

/** The values of concatenated float8[] send forms, flat, and how many each array holds. */
export interface Float8Arrays {
  values: number[];
  counts: number[];
}

/** array_send's header: dimensions, has-nulls flag and element type, then a length and a lower bound per dimension. */
const HEADER_BYTES = 12;
const DIMENSION_BYTES = 8;
/** Each element: its length (-1 for NULL), then its bytes. */
const FLOAT8_ELEMENT_BYTES = 4 + 8;
const FLOAT8_OID = 701;

/**
 * Concatenated array_send forms of float8[] values (null: none), each read
 * flat (a multi-dimensional array in storage order). A NULL element is
 * refused: a prediction's logits have none.
 */
export function float8Arrays(bytes: Buffer | null): Float8Arrays {
  const out: Float8Arrays = { values: [], counts: [] };
  for (let at = 0; bytes && at < bytes.length;) {
    const dimensions = bytes.readInt32BE(at);
    if (dimensions > 0 && bytes.readUInt32BE(at + 8) !== FLOAT8_OID) throw new Error(`not a float8 array: element type ${bytes.readUInt32BE(at + 8)}`);
    let count = dimensions === 0 ? 0 : 1;
    for (let d = 0; d < dimensions; d++) count *= bytes.readInt32BE(at + HEADER_BYTES + d * DIMENSION_BYTES);
    at += HEADER_BYTES + dimensions * DIMENSION_BYTES;
    for (let i = 0; i < count; i++, at += FLOAT8_ELEMENT_BYTES) {
      if (bytes.readInt32BE(at) !== 8) throw new Error('a float8 array with a NULL element');
      out.values.push(bytes.readDoubleBE(at + 4));
    }
    out.counts.push(count);
  }
  return out;
}
