/**
 * The audit ledger: one JSON event per line (time, run id, stage, event, data), appended synchronously so the
 * ledger of a run that dies holds everything up to the failure. Every line is whole: a write that fails part-way
 * (a full disk) is cut back to the last whole line before the error is raised.
 */
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../util/hash.js';
import { systemError } from '../core/errors.js';

export interface AuditEvent {
  time: string;
  run_id: string;
  stage: string | null;
  event: string;
  data?: unknown;
}

export class AuditLedger {
  private count = 0;
  /** Bytes of whole lines written so far. */
  private size = 0;
  constructor(readonly file: string, readonly runId: string, private readonly now: () => Date = () => new Date()) {
    try {
      writeFileSync(file, '');
    } catch (err) {
      throw systemError(err, `creating the audit ledger in ${dirname(file)}`);
    }
  }

  event(stage: string | null, event: string, data?: unknown): void {
    // The envelope in reading order; the data canonical (sorted keys, typed arrays as lists, NaN as null), so an
    // event's bytes do not depend on the order a stage filled its objects in.
    const head = JSON.stringify({ time: this.now().toISOString(), run_id: this.runId, stage, event } satisfies AuditEvent);
    const line = Buffer.from(`${data === undefined ? head : `${head.slice(0, -1)},"data":${canonicalJson(data)}}`}\n`, 'utf8');
    try {
      appendFileSync(this.file, line);
    } catch (err) {
      try {
        truncateSync(this.file, this.size);
      } catch {
        /* nothing was appended, or the file is gone */
      }
      throw systemError(err, `writing the audit ledger in ${dirname(this.file)}`);
    }
    this.size += line.byteLength;
    this.count++;
  }

  /** An event that must not turn one failure into two (the failure path on a full disk): false when not written. */
  tryEvent(stage: string | null, event: string, data?: unknown): boolean {
    try {
      this.event(stage, event, data);
      return true;
    } catch {
      return false;
    }
  }

  get events(): number {
    return this.count;
  }
}
