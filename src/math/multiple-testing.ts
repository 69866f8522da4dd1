/**
 * Multiple-testing adjustments of p-values. Holm, S. (1979), "A simple sequentially rejective multiple test
 * procedure", Scandinavian Journal of Statistics 6: the family-wise error rate is held at the level read whatever
 * the dependence between the tests (what R's p.adjust(p, "holm") computes).
 */
/** Holm's adjusted p-values, in the order given: p(i) sorted ascending, max over k ≤ i of min(1, (m − k + 1) p(k)). */
export function holm(p: number[]): number[] {
  const m = p.length;
  const order = p.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([x, i], k) => {
    running = Math.max(running, Math.min(1, (m - k) * x));
    out[i] = running;
  });
  return out;
}
