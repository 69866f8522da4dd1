/** Built-in scanners (discovery and data sources), bound by name. */
import { pluginModule } from '../../../src/core/registry.js';
import { CcxtScanner } from './ccxt.scanner.js';
import { CsvScanner } from './csv.scanner.js';
import { LakehouseScanner } from './lakehouse.scanner.js';
import { SyntheticScanner } from './synthetic.scanner.js';
import { TradingViewScanner } from './tradingview.scanner.js';

export const scannerModule = pluginModule('scanner', [LakehouseScanner, CsvScanner, SyntheticScanner, CcxtScanner, TradingViewScanner]);
