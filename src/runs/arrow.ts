/**
 * Run outputs as Arrow IPC files with plain types (Date32, Float64, Int32, Utf8), readable by pyarrow and pandas as
 * they are. apache-arrow loads only when a stage writes one.
 */
export type Column = { kind: 'date'; values: Int32Array } | { kind: 'float'; values: Float64Array } | { kind: 'int'; values: Int32Array } | { kind: 'string'; values: string[] };

export async function encodeColumns(columns: Record<string, Column>): Promise<Uint8Array> {
  const { Table, makeData, makeVector, DateDay, Utf8, vectorFromArray, tableToIPC } = await import('apache-arrow');
  const vectors: Record<string, unknown> = {};
  for (const [name, c] of Object.entries(columns)) {
    if (c.kind === 'date') vectors[name] = makeVector(makeData({ type: new DateDay(), data: c.values, length: c.values.length }));
    else if (c.kind === 'float' || c.kind === 'int') vectors[name] = makeVector(c.values);
    else if (c.values.every((x) => typeof x === 'string')) vectors[name] = makeVector(makeData({ type: new Utf8(), length: c.values.length, nullCount: 0, ...utf8Buffers(c.values) }));
    else vectors[name] = vectorFromArray(c.values, new Utf8());
  }
  return tableToIPC(new Table(vectors as never), 'file');
}

/**
 * A string column's offsets and UTF-8 bytes, made directly: the same buffers Arrow's builder (vectorFromArray) makes
 * for strings without nulls, so the same file, without the builder's machinery (the cost of a small run's first
 * weights.arrow was mostly compiling it).
 */
function utf8Buffers(values: string[]): { valueOffsets: Int32Array; data: Uint8Array } {
  const encoder = new TextEncoder();
  const encoded = values.map((s) => encoder.encode(s));
  const valueOffsets = new Int32Array(values.length + 1);
  for (let i = 0; i < encoded.length; i++) valueOffsets[i + 1] = valueOffsets[i]! + encoded[i]!.length;
  const data = new Uint8Array(valueOffsets[values.length]!);
  for (let i = 0; i < encoded.length; i++) data.set(encoded[i]!, valueOffsets[i]!);
  return { valueOffsets, data };
}

/**
 * The numeric columns of a run's Arrow file (returns.arrow, equity.arrow): dates as EpochDays (Int32Array), floats as
 * Float64Array (null as NaN). String columns are left out.
 */
export async function decodeNumericColumns(bytes: Uint8Array): Promise<Record<string, Int32Array | Float64Array>> {
  const { tableFromIPC, Type } = await import('apache-arrow');
  const table = tableFromIPC(bytes);
  const out: Record<string, Int32Array | Float64Array> = {};
  for (const field of table.schema.fields) {
    const col = table.getChild(field.name)!;
    if (field.typeId === Type.Date) {
      const days = new Int32Array(col.length);
      let k = 0;
      for (const chunk of col.data) {
        const v = chunk.values as Int32Array;
        for (let i = 0; i < chunk.length; i++) days[k++] = v[chunk.offset + i]!;
      }
      out[field.name] = days;
    } else if (field.typeId === Type.Float || field.typeId === Type.Int) {
      out[field.name] = Float64Array.from({ length: col.length }, (_, i) => {
        const x = col.get(i);
        return x === null || x === undefined ? NaN : Number(x);
      });
    }
  }
  return out;
}
