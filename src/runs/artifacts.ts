/**
 * Stage artifacts, written into the run's folder (itself temporary until the run completes). JSON is canonical (keys
 * sorted at every depth, arrays in their order) with a trailing newline, so the same decision gives the same bytes
 * whichever order a stage happened to fill its objects in (a cache hit, a worker thread).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { canonicalJson } from '../util/hash.js';
import { runError, systemError } from '../core/errors.js';
import { writeWhole } from './write-whole.js';

export class ArtifactWriter {
  readonly written: string[] = [];
  /**
   * Every write in order: a whole file, or one section of a shared JSON file (what a stage checkpoint records), with
   * the sha256 and size of the file as that write left it (hashed from the bytes written, never read back), so a run
   * reusing this one can tell a changed file (src/pipeline/reuse.ts).
   */
  readonly log: ArtifactWrite[] = [];
  constructor(private readonly dir: string) {}

  /** Writes one artifact whole (or not at all: a full disk leaves no torn file); file-system errors are coded. */
  private write(name: string, data: string | Uint8Array, section?: string): string {
    const rel = normalize(name);
    if (rel.startsWith('..') || rel.startsWith('/')) throw runError('ARTIFACT_PATH', `artifact '${name}' must stay inside the run folder`);
    const full = join(this.dir, rel);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    try {
      mkdirSync(dirname(full), { recursive: true });
      writeWhole(full, bytes);
    } catch (err) {
      throw systemError(err, `writing ${rel} in ${this.dir}`);
    }
    if (!this.written.includes(rel)) this.written.push(rel);
    this.log.push({ file: rel, ...(section !== undefined ? { section } : {}), sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength });
    return full;
  }

  async writeText(name: string, text: string): Promise<string> {
    return this.write(name, text);
  }

  async writeJson(name: string, value: unknown): Promise<string> {
    return this.writeText(name, jsonText(value));
  }

  private readonly sections = new Map<string, Record<string, unknown>>();

  /**
   * One section of a JSON file several stages contribute to (metrics.json: `allocation`, `backtest`): the file
   * is rewritten with every section written so far.
   */
  async writeJsonSection(name: string, section: string, value: unknown): Promise<string> {
    const doc = this.sections.get(name) ?? {};
    doc[section] = value;
    this.sections.set(name, doc);
    return this.write(name, jsonText(doc), section);
  }

  async writeBytes(name: string, bytes: Uint8Array): Promise<string> {
    return this.write(name, bytes);
  }
}

/** One write of an artifact: the file (run-folder relative), the section when it was one, the file's bytes after it. */
export interface ArtifactWrite {
  file: string;
  section?: string;
  sha256: string;
  size: number;
}

/** The text of a JSON artifact: canonical, indented by 2, a trailing newline (typed arrays as lists, NaN as null). */
export const jsonText = (value: unknown): string => `${canonicalJson(value, 2)}\n`;
