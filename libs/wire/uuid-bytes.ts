/** UUIDs as 16 bytes each, concatenated: how columns of ids travel (PredictionColumns, PriorityColumns). */

export function uuidsToBytes(ids: readonly string[]): Buffer {
  const out = Buffer.allocUnsafe(ids.length * 16);
  ids.forEach((id, i) => {
    const hex = id.replaceAll('-', '');
    if (hex.length !== 32) throw new Error(`not a UUID: ${id}`);
    out.write(hex, i * 16, 16, 'hex');
  });
  return out;
}

export function uuidsFromBytes(bytes: Uint8Array): string[] {
  if (bytes.length % 16 !== 0) throw new Error(`${bytes.length} bytes are no whole number of UUIDs`);
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  const out: string[] = [];
  for (let i = 0; i < hex.length; i += 32) {
    out.push(`${hex.slice(i, i + 8)}-${hex.slice(i + 8, i + 12)}-${hex.slice(i + 12, i + 16)}-${hex.slice(i + 16, i + 20)}-${hex.slice(i + 20, i + 32)}`);
  }
  return out;
}
