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
    else vectors[name] = vectorFromArray(c.values, new Utf8());
  }
  return tableToIPC(new Table(vectors as never), 'file');
}
