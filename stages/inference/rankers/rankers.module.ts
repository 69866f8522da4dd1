/** Built-in rankers, bound by name. */
import { pluginModule } from '../../../src/core/registry.js';
import { CarsRanker } from './cars.ranker.js';
import { MpsRanker } from './mps.ranker.js';
import { RegimeRanker } from './regime.ranker.js';

export const rankerModule = pluginModule('ranker', [MpsRanker, CarsRanker, RegimeRanker]);
