import { join } from 'node:path';

/** The real market data sets (../shared/data beside the repository; FRACTAL_DATA moves it). Never copied here. */
export const DATA_DIR = process.env.FRACTAL_DATA ?? join(new URL('.', import.meta.url).pathname, '..', '..', 'shared', 'data');
export const REPO_DIR = join(new URL('.', import.meta.url).pathname, '..');
