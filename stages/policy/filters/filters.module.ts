/** Built-in veto filters, bound by name. */
import { pluginModule } from '../../../src/core/registry.js';
import { DarwinianFilter } from './darwinian.filter.js';
import { FrictionFilter } from './friction.filter.js';
import { PredictabilityFilter } from './predictability.filter.js';
import { RocFilter } from './roc.filter.js';
import { SpectralFilter } from './spectral.filter.js';
import { TailRiskFilter } from './tail-risk.filter.js';

export const filterModule = pluginModule('filter', [DarwinianFilter, SpectralFilter, FrictionFilter, PredictabilityFilter, TailRiskFilter, RocFilter]);
