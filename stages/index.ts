/**
 * The built-in plugins. Stages are listed in flow order (ingestion → … → report); each kind is one container
 * module, defined beside the stage that uses it.
 */
import { pluginModule, PluginRegistry, type PluginModule } from '../src/core/registry.js';
import { AllocationStage } from './allocation/allocation.stage.js';
import { engineModule } from './allocation/engines/engines.module.js';
import { BacktestStage } from './backtest/backtest.stage.js';
import { simulatorModule } from './backtest/simulators/simulators.module.js';
import { ClusteringStage } from './clustering/clustering.stage.js';
import { FeatureEngineeringStage } from './features/feature-engineering.stage.js';
import { InferenceStage } from './inference/inference.stage.js';
import { rankerModule } from './inference/rankers/rankers.module.js';
import { IngestionStage } from './ingestion/ingestion.stage.js';
import { scannerModule } from './ingestion/scanners/scanners.module.js';
import { filterModule } from './policy/filters/filters.module.js';
import { PolicyStage } from './policy/policy.stage.js';
import { ReportStage } from './report/report.stage.js';
import { reporterModule } from './report/reporters/reporters.module.js';
import { SynthesisStage } from './synthesis/synthesis.stage.js';
import { MetaFlattenStage } from './meta/meta-flatten.stage.js';
import { MetaOptimizeStage } from './meta/meta-optimize.stage.js';
import { MetaReturnsStage } from './meta/meta-returns.stage.js';
import { TournamentCellsStage } from './tournament/tournament-cells.stage.js';
import { TournamentCompareStage } from './tournament/tournament-compare.stage.js';

export const stageModule = pluginModule('stage', [
  IngestionStage,
  FeatureEngineeringStage,
  InferenceStage,
  ClusteringStage,
  PolicyStage,
  SynthesisStage,
  AllocationStage,
  BacktestStage,
  MetaReturnsStage,
  MetaOptimizeStage,
  MetaFlattenStage,
  TournamentCellsStage,
  TournamentCompareStage,
  ReportStage,
]);

export const BUILTIN_MODULES: PluginModule[] = [stageModule, scannerModule, rankerModule, filterModule, engineModule, simulatorModule, reporterModule];

/** A registry of the built-ins; throws at start if two plugins of a kind share a name. */
export const builtinRegistry = (): PluginRegistry => new PluginRegistry(BUILTIN_MODULES);
