/** The error a planned (not yet implemented) plugin raises if it is ever reached; `run` refuses earlier. */
import { runError } from './errors.js';
import type { PluginMeta } from './plugin.js';

export function plannedError(meta: PluginMeta): Error {
  return runError('PLUGIN_NOT_IMPLEMENTED', `${meta.kind} '${meta.name}' is not implemented in this version yet: ${meta.planned ?? ''}`.trim(), 'Its params are validated; running it needs a later Fractal version.');
}
