/** The version of Fractal, on its own: `pipeline-run --version` loads nothing else. */
import { fractalVersion } from '../runs/manifest.js';

/** The version of Fractal (its package.json). */
export const version = (): string => fractalVersion();
