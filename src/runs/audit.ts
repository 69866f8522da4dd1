/**
 * The audit ledger: one JSON event per line (time, run id, stage, event, data), appended synchronously so the
 * ledger of a run that dies holds everything up to the failure.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { canonicalJson } from '../config/hash.js';

export interface AuditEvent {
  time: string;
  run_id: string;
  stage: string | null;
  event: string;
  data?: unknown;
}

export class AuditLedger {
  private count = 0;
  constructor(readonly file: string, readonly runId: string, private readonly now: () => Date = () => new Date()) {
    writeFileSync(file, '');
  }

  event(stage: string | null, event: string, data?: unknown): void {
    // The envelope in reading order; the data canonical (sorted keys, typed arrays as lists, NaN as null), so an
    // event's bytes do not depend on the order a stage filled its objects in.
    const head = JSON.stringify({ time: this.now().toISOString(), run_id: this.runId, stage, event } satisfies AuditEvent);
    appendFileSync(this.file, `${data === undefined ? head : `${head.slice(0, -1)},"data":${canonicalJson(data)}}`}\n`);
    this.count++;
  }

  get events(): number {
    return this.count;
  }
}
