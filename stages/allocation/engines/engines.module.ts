/** Built-in allocation engines, bound by name. */
import { pluginModule } from '../../../src/core/registry.js';
import { BarbellEngine } from './barbell.engine.js';
import { EfficientReturnEngine } from './efficient-return.engine.js';
import { EfficientRiskEngine } from './efficient-risk.engine.js';
import { EqualWeightEngine } from './equal-weight.engine.js';
import { HercEngine } from './herc.engine.js';
import { HrpEngine } from './hrp.engine.js';
import { InverseVolEngine } from './inverse-vol.engine.js';
import { MaxSharpeEngine } from './max-sharpe.engine.js';
import { MinVarianceEngine } from './min-variance.engine.js';
import { RiskParityEngine } from './risk-parity.engine.js';

export const engineModule = pluginModule('engine', [
  EqualWeightEngine, InverseVolEngine, MinVarianceEngine, MaxSharpeEngine, EfficientRiskEngine, EfficientReturnEngine,
  RiskParityEngine, HrpEngine, HercEngine, BarbellEngine,
]);
