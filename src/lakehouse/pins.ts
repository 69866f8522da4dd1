/**
 * One version of each lakehouse per run. A run opens a lakehouse many times (the scanner, its data identity, each
 * worker thread's first decision, child runs of sleeves and cells), and each open reads `registry.json` as it is then:
 * an import committing in between gave a run's worker threads a newer registry than the run's own, so some windows
 * were decided on the new data and others on the old, and the run said nothing (found running imports beside runs
 * with `workers: 2`). Inside a run's scope (withLakehousePins), the first read-only open of a lakehouse pins the
 * registry it read; every later read-only open of that folder in the scope takes the pinned one, and the pins go with
 * the run's jobs to its worker threads. The files of a pinned registry stay readable while imports commit: the store
 * keeps the files it replaces (store.ts VERSIONS_DIR).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Registry } from './registry.js';

/** A lakehouse folder (resolved), the registry a run read from it, and registry.json's stamp when it was read. */
export interface PinnedRegistry {
  root: string;
  registry: Registry;
  stamp: string;
}

const scope = new AsyncLocalStorage<Map<string, PinnedRegistry>>();

/**
 * Runs `fn` in a scope of pinned registries: `pins` (handed over by the thread that started the run), and any
 * registry first read inside. A scope inside another (a child run in process) shares the outer run's pins.
 */
export function withLakehousePins<T>(fn: () => Promise<T>, pins: readonly PinnedRegistry[] = []): Promise<T> {
  const outer = scope.getStore();
  if (outer) {
    for (const p of pins) if (!outer.has(p.root)) outer.set(p.root, p);
    return fn();
  }
  return scope.run(new Map(pins.map((p) => [p.root, p] as const)), fn);
}

/** The registry pinned for `root` in this scope, if any. */
export function pinnedRegistry(root: string): PinnedRegistry | undefined {
  return scope.getStore()?.get(root);
}

/** Pins a registry just read for `root`, when a scope is active and none is pinned yet; returns the one in force. */
export function pinRegistry(pin: PinnedRegistry): PinnedRegistry {
  const pins = scope.getStore();
  if (!pins) return pin;
  const held = pins.get(pin.root);
  if (held) return held;
  pins.set(pin.root, pin);
  return pin;
}

/** The pins of this scope, to hand to worker threads with a run's jobs. */
export function lakehousePins(): PinnedRegistry[] {
  return [...(scope.getStore()?.values() ?? [])];
}
