/**
 * The audit ledger: one JSON event per line (time, run id, stage, event, data), appended synchronously so the
 * ledger of a run that dies holds everything up to the failure.
 */
import { appendFileSync, writeFileSync } from 'node:fs';

export interface AuditEvent {
  time: string;
  run_id: string;
  stage: string | null;
  event: string;
  data?: unknown;
}

/** Typed arrays become plain lists in the ledger; NaN/Infinity become null (JSON has neither). */
function replacer(_k: string, v: unknown): unknown {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

export class AuditLedger {
  private count = 0;
  constructor(readonly file: string, readonly runId: string, private readonly now: () => Date = () => new Date()) {
    writeFileSync(file, '');
  }

  event(stage: string | null, event: string, data?: unknown): void {
    const e: AuditEvent = { time: this.now().toISOString(), run_id: this.runId, stage, event, ...(data === undefined ? {} : { data }) };
    appendFileSync(this.file, `${JSON.stringify(e, replacer)}\n`);
    this.count++;
  }

  get events(): number {
    return this.count;
  }
}
