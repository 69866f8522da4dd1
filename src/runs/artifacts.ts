/**
 * Stage artifacts, written into the run's folder (itself temporary until the run completes). JSON is canonical (keys
 * sorted at every depth, arrays in their order) with a trailing newline, so the same decision gives the same bytes
 * whichever order a stage happened to fill its objects in (a cache hit, a worker thread).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { canonicalJson } from '../util/hash.js';
import { runError, systemError } from '../core/errors.js';
import { writeWhole } from './write-whole.js';

export class ArtifactWriter {
  readonly written: string[] = [];
  /** Every write in order: a whole file, or one section of a shared JSON file (what a stage checkpoint records). */
  readonly log: { file: string; section?: string }[] = [];
  constructor(private readonly dir: string) {}

  /** Writes one artifact whole (or not at all: a full disk leaves no torn file); file-system errors are coded. */
  private write(name: string, data: string | Uint8Array): string {
    const rel = normalize(name);
    if (rel.startsWith('..') || rel.startsWith('/')) throw runError('ARTIFACT_PATH', `artifact '${name}' must stay inside the run folder`);
    const full = join(this.dir, rel);
    try {
      mkdirSync(dirname(full), { recursive: true });
      writeWhole(full, data);
    } catch (err) {
      throw systemError(err, `writing ${rel} in ${this.dir}`);
    }
    if (!this.written.includes(rel)) this.written.push(rel);
    if (!this.inSection) this.log.push({ file: rel });
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
    this.log.push({ file: normalize(name), section });
    this.inSection = true;
    try {
      return await this.writeJson(name, doc);
    } finally {
      this.inSection = false;
    }
  }
  private inSection = false;

  async writeBytes(name: string, bytes: Uint8Array): Promise<string> {
    return this.write(name, bytes);
  }
}

/** The text of a JSON artifact: canonical, indented by 2, a trailing newline (typed arrays as lists, NaN as null). */
export const jsonText = (value: unknown): string => `${canonicalJson(value, 2)}\n`;
