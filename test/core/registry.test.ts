import { FractalError } from '../../src/core/errors.js';
import { pluginModule, PluginRegistry } from '../../src/core/registry.js';
import { createContainer } from '../../src/pipeline/container.js';
import { builtinRegistry } from '../../stages/index.js';
import { PLUGIN_KINDS } from '../../src/core/plugin.js';

const params = { type: 'object', additionalProperties: false, properties: {} };
class A {
  static meta = { kind: 'ranker' as const, name: 'alpha', description: 'a', params };
  hello() {
    return 'A';
  }
}
class B {
  static meta = { kind: 'ranker' as const, name: 'alpha', description: 'b', params };
}
class C {
  static meta = { kind: 'ranker' as const, name: 'gamma', description: 'c', params, aliases: [{ name: 'old_gamma', deprecated: 'renamed' }] };
  hello() {
    return 'C';
  }
}

test('two plugins of one kind with one name are refused at start', () => {
  expect(() => new PluginRegistry([pluginModule('ranker', [A]), pluginModule('ranker', [B], 'plugin module x.js')])).toThrow(FractalError);
  try {
    new PluginRegistry([pluginModule('ranker', [A]), pluginModule('ranker', [B], 'plugin module x.js')]);
  } catch (e) {
    expect((e as FractalError).code).toBe('PLUGIN_DUPLICATE');
    expect((e as Error).message).toContain('plugin module x.js');
  }
});

test('a plugin registered under the wrong kind, or with an open params schema, is refused', () => {
  expect(() => new PluginRegistry([pluginModule('filter', [A])])).toThrow(/declares kind 'ranker'/);
  class Open {
    static meta = { kind: 'ranker' as const, name: 'open', description: '', params: { type: 'object' } };
  }
  expect(() => new PluginRegistry([pluginModule('ranker', [Open])])).toThrow(/additionalProperties: false/);
});

test('a scanner, an engine or a simulator that does not declare its capabilities is refused, naming what is missing', () => {
  class Quiet {
    static meta = { kind: 'scanner' as const, name: 'quiet', description: 'a live screener that says nothing', params };
  }
  expect(() => new PluginRegistry([pluginModule('scanner', [Quiet], 'plugin module quiet.js')])).toThrow(
    expect.objectContaining({ code: 'PLUGIN_INVALID', message: expect.stringMatching(/scanner 'quiet' \(plugin module quiet\.js.*must declare live \(true or false\), pointInTime .*, cacheable .*, readsLakehouse/) }),
  );
  class Vague {
    static meta = { kind: 'engine' as const, name: 'vague', description: '', params, needs: 'covariance', honours: ['groups', 'turnover'], longOnly: true, volatilityBand: -1 };
  }
  expect(() => new PluginRegistry([pluginModule('engine', [Vague])])).toThrow(/must declare honours \(a list of 'groups', 'linear'\), volatilityBand \(a positive number\)/);
  class Holder {
    static meta = { kind: 'simulator' as const, name: 'holder', description: '', params, model: 'weights' };
  }
  expect(new PluginRegistry([pluginModule('simulator', [Holder])]).names('simulator')).toEqual(['holder']);
});

test('the container resolves plugins by kind and name, aliases to the canonical class', () => {
  const { resolver } = createContainer(new PluginRegistry([pluginModule('ranker', [A, C])]));
  expect(resolver.get<A>('ranker', 'alpha').hello()).toBe('A');
  expect(resolver.get<C>('ranker', 'old_gamma').hello()).toBe('C');
  expect(() => resolver.get('ranker', 'alpah')).toThrow(/unknown ranker 'alpah'/);
});

test('the built-ins: every kind has plugins, names are lower_snake_case, stages come in flow order', () => {
  const r = builtinRegistry();
  for (const k of PLUGIN_KINDS) expect(r.names(k).length).toBeGreaterThan(0);
  expect(r.names('stage')).toEqual(['ingestion', 'feature_engineering', 'inference', 'clustering', 'policy', 'synthesis', 'allocation', 'backtest', 'meta_returns', 'meta_optimize', 'meta_flatten', 'tournament_cells', 'tournament_compare', 'report']);
  const { resolver } = createContainer(r);
  for (const k of PLUGIN_KINDS) for (const n of r.names(k)) expect(resolver.get(k, n)).toBeInstanceOf(r.lookup(k, n)!.cls);
});
