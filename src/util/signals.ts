/** The signals that stop a command (Ctrl-C, a kill, a closed terminal), and the exit status a shell shows for each. */
import { constants } from 'node:os';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** 128 + the signal's number: what a shell reports for a program ended by it (130 for Ctrl-C). */
export const exitStatusOf = (signal: NodeJS.Signals): number => 128 + (constants.signals[signal] ?? 15);
