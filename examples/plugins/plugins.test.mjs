// Unit tests of the example plugins with Node's own test runner: `node --test examples/plugins/`.
// No test framework and no Fractal internals: a plugin is a class, so import it and call it on a hand-made table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import LowVolatilityRanker from './low_volatility.ranker.js';
import DrawdownFilter from './drawdown.filter.js';

const features = {
  symbols: ['CALM', 'WILD', 'MID', 'NEW'],
  names: ['volatility', 'momentum', 'max_drawdown'],
  values: {
    volatility: Float64Array.from([0.2, 1.1, 0.5, NaN]),
    momentum: Float64Array.from([0.0, 0.9, 0.1, NaN]),
    max_drawdown: Float64Array.from([0.15, 0.72, 0.5, NaN]),
  },
};

test('the calmest name ranks first; NaN stays NaN (not scored)', () => {
  const { conviction } = new LowVolatilityRanker().score(features, { momentum_tilt: 0 });
  assert.equal(conviction.length, features.symbols.length);
  assert.deepEqual(Array.from(conviction.subarray(0, 3)), [-0.2, -1.1, -0.5]);
  assert.ok(Number.isNaN(conviction[3]));
});

test('momentum_tilt adds momentum per unit of volatility', () => {
  const { conviction } = new LowVolatilityRanker().score(features, { momentum_tilt: 0.5 });
  assert.ok(Math.abs(conviction[1] - (-1.1 + 0.45)) < 1e-12);
});

test('the filter vetoes above its ceiling, keeps a value equal to it, and never vetoes missing data', () => {
  const out = new DrawdownFilter().evaluate(features, { max_drawdown: 0.5 });
  assert.deepEqual(['CALM', 'WILD', 'MID', 'NEW'].map((s) => out.get(s)[0].vetoed), [false, true, false, false]);
  assert.equal(out.get('NEW')[0].value, null);
});

test('relaxed thresholds rise by the amount, at most to 1', () => {
  const f = new DrawdownFilter();
  assert.ok(Math.abs(f.relax({ max_drawdown: 0.5 }, 0.2).max_drawdown - 0.6) < 1e-12);
  assert.equal(f.relax({ max_drawdown: 0.9 }, 0.2).max_drawdown, 1);
});

test('meta is what the engine checks: kind, lower_snake_case name, params an object schema without extra keys', () => {
  for (const C of [LowVolatilityRanker, DrawdownFilter]) {
    assert.match(C.meta.name, /^[a-z][a-z0-9_]*$/);
    assert.equal(C.meta.params.type, 'object');
    assert.equal(C.meta.params.additionalProperties, false);
  }
});
