// A third-party ranker: prefers the calmest names. docs/plugin-modules.md walks through it.
// A plugin module is plain JavaScript (.js or .mjs: Node 20 does not load .ts) inside the pipeline's repository.

export default class LowVolatilityRanker {
  static meta = {
    kind: 'ranker',
    name: 'low_volatility',
    description: 'Conviction is minus the annualised volatility, optionally tilted towards momentum.',
    // A JSON Schema with type: object and additionalProperties: false. Defaults are filled in before the
    // plugin runs; a wrong type, a value out of range or an unknown key is refused by `validate` at file:line:col.
    params: {
      type: 'object',
      additionalProperties: false,
      properties: {
        momentum_tilt: { type: 'number', minimum: 0, maximum: 1, default: 0, description: 'Weight of momentum (per unit of volatility) added to the conviction.' },
      },
    },
  };

  /**
   * features: { symbols: string[], names: string[], values: { [factor]: Float64Array } }, one value per symbol.
   * Returns one conviction per symbol, indexed like features.symbols, higher is better (NaN: cannot be scored).
   */
  score(features, params) {
    const vol = features.values.volatility;
    const mom = features.values.momentum;
    if (!vol) throw new Error('low_volatility needs the volatility feature (feature_engineering computes it by default)');
    const conviction = new Float64Array(features.symbols.length);
    for (let i = 0; i < conviction.length; i++) {
      const tilt = params.momentum_tilt > 0 && mom ? params.momentum_tilt * mom[i] : 0;
      conviction[i] = -vol[i] + tilt;
    }
    // `details` is optional: what the score is made of, for scores.json and the audit.
    return { conviction, details: { factors: { volatility: { weight: 1, direction: -1, missing: vol.filter(Number.isNaN).length } }, skipped: [] } };
  }
}
