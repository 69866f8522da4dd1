// A third-party veto filter: no name whose worst fall over the feature window is deeper than max_drawdown.
// docs/plugin-modules.md walks through it.

export default class DrawdownFilter {
  static meta = {
    kind: 'filter',
    name: 'drawdown',
    description: 'Vetoes names whose maximum drawdown over the feature window is deeper than max_drawdown.',
    params: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_drawdown: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.6, description: 'Deepest fall from a peak allowed, as a fraction (0.6 = -60%).' },
      },
    },
  };

  // A hard filter keeps vetoing when the HTR loop forces representatives (stages 3 and 4); a soft one is overridden.
  hard = false;

  /** Per symbol, one check per metric: { metric, value, threshold, rule, vetoed }. */
  evaluate(features, params) {
    const dd = features.values.max_drawdown;
    if (!dd) throw new Error('drawdown needs the max_drawdown feature');
    // A Map keyed by symbol: a symbol called "__proto__" is a name like any other.
    const out = new Map();
    features.symbols.forEach((symbol, i) => {
      const value = Number.isFinite(dd[i]) ? dd[i] : null; // missing data never vetoes here
      out.set(symbol, [{ metric: 'max_drawdown', value, threshold: params.max_drawdown, rule: 'max', vetoed: value !== null && value > params.max_drawdown }]);
    });
    return out;
  }

  /** HTR stage 2's thresholds: the ceiling rises by `amount` (0.2 by default), never past 1. */
  relax(params, amount) {
    return { ...params, max_drawdown: Math.min(1, params.max_drawdown * (1 + amount)) };
  }
}
