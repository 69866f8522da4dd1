// A ranker written with Fractal's plugin helpers: minus the volatility, scaled (the calmest names first).
// docs/api.md walks through it; a pipeline loads it with `plugins: [./plugins/calm.ranker.js]`.
import { defineRanker } from 'fractal';

export default defineRanker(
  {
    name: 'calm',
    description: 'Minus the annualised volatility, times scale: the calmest names first.',
    params: {
      type: 'object',
      additionalProperties: false,
      properties: { scale: { type: 'number', exclusiveMinimum: 0, default: 1, description: 'Multiplies the conviction.' } },
    },
  },
  {
    // One conviction per symbol of features.symbols, higher is better.
    score: (features, params) => ({ conviction: features.values.volatility.map((v) => -v * params.scale) }),
  },
);
