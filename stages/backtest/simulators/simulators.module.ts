/** Built-in simulators, bound by name. */
import { pluginModule } from '../../../src/core/registry.js';
import { EventDrivenSimulator } from './event-driven.simulator.js';
import { VectorizedSimulator } from './vectorized.simulator.js';

export const simulatorModule = pluginModule('simulator', [VectorizedSimulator, EventDrivenSimulator]);
