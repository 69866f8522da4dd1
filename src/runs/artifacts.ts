/**
 * Stage artifacts, written into the run's folder (itself temporary until the run completes). JSON is canonical (keys
 * sorted at every depth, arrays in their order) with a trailing newline, so the same decision gives the same bytes
 * whichever order a stage happened to fill its objects in (a cache hit, a worker thread).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { canonicalJson } from '../config/hash.js';
import { runError } from '../core/errors.js';

export class ArtifactWriter {
  readonly written: string[] = [];
  constructor(private readonly dir: string) {}

  private target(name: string): string {
    const rel = normalize(name);
    if (rel.startsWith('..') || rel.startsWith('/')) throw runError('ARTIFACT_PATH', `artifact '${name}' must stay inside the run folder`);
    const full = join(this.dir, rel);
    mkdirSync(dirname(full), { recursive: true });
    if (!this.written.includes(rel)) this.written.push(rel);
    return full;
  }

  async writeText(name: string, text: string): Promise<string> {
    const full = this.target(name);
    writeFileSync(full, text);
    return full;
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
    return this.writeJson(name, doc);
  }

  async writeBytes(name: string, bytes: Uint8Array): Promise<string> {
    const full = this.target(name);
    writeFileSync(full, bytes);
    return full;
  }
}

/** The text of a JSON artifact: canonical, indented by 2, a trailing newline (typed arrays as lists, NaN as null). */
export const jsonText = (value: unknown): string => `${canonicalJson(value, 2)}\n`;
