import { availableParallelism } from 'node:os';

/** Worker threads for `tasks` independent tasks: one per core, at most one per 4 tasks (fewer would not pay). */
export function defaultThreads(tasks: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.floor(tasks / 4) || 1));
}
