/**
 * The generated references (`pipeline-run schema`, `pipeline-run docs`): the editor schemas (schemas/*.schema.json)
 * and the config reference (docs/reference, one page per plugin), both made from the plugin registry so the docs,
 * the editor and `validate` never disagree. writeSchemas/writeDocs bring a folder up to date; checkSchemas/checkDocs
 * only say what differs.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generateSchemas, schemaText } from '../config/schema-gen.js';
import { PLUGIN_REF_KEYWORD } from '../core/params.js';
import { PLUGIN_KINDS, type EngineMeta, type JsonSchema, type PluginMeta, type ScannerMeta, type SimulatorMeta, type StageMeta } from '../core/plugin.js';
import type { PluginRegistry } from '../core/registry.js';
import { getRegistry } from './config.js';
import type { GeneratedFiles } from './types.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeText(s: JsonSchema): string {
  const ref = s[PLUGIN_REF_KEYWORD] ?? (s.items as JsonSchema | undefined)?.[PLUGIN_REF_KEYWORD];
  if (typeof ref === 'string') return s.type === 'array' ? `list of ${ref}s` : `${ref} (name or {name, params})`;
  if (Array.isArray(s.enum)) return s.enum.map((e) => `\`${JSON.stringify(e)}\``).join(', ');
  if (s.anyOf) return (s.anyOf as JsonSchema[]).map(typeText).join(' or ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.type === 'array') return `list of ${typeText((s.items as JsonSchema) ?? {})}`;
  if (s.type === 'object' && s.properties) return 'mapping (below)';
  if (s.type === 'object' && s.additionalProperties) return `mapping of name to ${typeText(s.additionalProperties as JsonSchema)}`;
  return String(s.type ?? 'any');
}

function bounds(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.minItems !== undefined) parts.push(`≥ ${s.minItems} items`);
  return parts.join(', ');
}

function paramRows(schema: JsonSchema, prefix = ''): string[] {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows: string[] = [];
  for (const [k, s] of Object.entries(props)) {
    const dflt = s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : required.has(k) ? '**required**' : '—';
    rows.push(`| \`${prefix}${k}\` | ${cell(typeText(s))} | ${dflt} | ${cell(bounds(s))} | ${cell(String(s.description ?? ''))} |`);
    if (s.type === 'object' && s.properties) rows.push(...paramRows(s, `${prefix}${k}.`));
  }
  return rows;
}

const yes = (b: boolean) => (b ? 'yes' : 'no');

/** What a scanner, an engine or a simulator declares it is (src/core/plugin.ts), in words. */
function capabilities(meta: PluginMeta): string[] {
  if (meta.kind === 'engine') {
    const m = meta as EngineMeta;
    const what = { covariance: 'a covariance matrix: not run (the next fallback is) when the returns have no more days than assets', variances: 'each asset\'s variance (two days of returns)', nothing: 'no estimate' }[m.needs];
    const names = { groups: 'group caps (clusters, regimes)', linear: 'linear constraints (the market-neutral beta band)' };
    return [
      `Needs: ${what}.`, '',
      `Honours, besides the budget and the bounds: ${m.honours.map((c) => names[c]).join(', ') || 'nothing more'}. Long-only: ${m.longOnly ? 'yes (refuses short bounds and a budget that is not positive)' : 'no'}.${m.volatilityBand !== undefined ? ` Volatility band: ${Math.round(m.volatilityBand * 100)}% a year (the backtest flags realised volatility above it by more than 25 points).` : ''}`, '',
    ];
  }
  if (meta.kind === 'scanner') {
    const m = meta as ScannerMeta;
    return [`Live: ${yes(m.live)}. Point in time: ${yes(m.pointInTime)}. Cacheable (names its data before running): ${yes(m.cacheable)}. Reads the lakehouse: ${yes(m.readsLakehouse)}.`, ''];
  }
  if (meta.kind === 'simulator') {
    const m = meta as SimulatorMeta;
    return [`Model: ${m.model === 'weights' ? 'target weights held with drift on returns' : 'orders, fills and a cash account on bars'}.`, ''];
  }
  return [];
}

function page(meta: PluginMeta): string {
  const out = [`# ${meta.kind} \`${meta.name}\``, '', meta.description, ''];
  if (meta.planned) out.push(`> **Planned.** Its params are validated now; \`run\` refuses it until it is implemented: ${meta.planned}`, '');
  if (meta.aliases?.length) out.push(`Also accepted (deprecated): ${meta.aliases.map((a) => `\`${a.name}\` (${a.deprecated})`).join(', ')}.`, '');
  if (meta.kind === 'stage') {
    const sm = meta as StageMeta;
    out.push(`Document kinds: ${sm.documents.join(', ')}. Requires: ${sm.requires.map((r) => `\`${r}\``).join(', ') || 'nothing'}. Provides: ${sm.provides.map((p) => `\`${p}\``).join(', ')}.${sm.reads?.length ? ` Reads when present: ${sm.reads.map((r) => `\`${r}\``).join(', ')}.` : ''}`, '');
    if (sm.shorthands) for (const [k, v] of Object.entries(sm.shorthands)) out.push(`Shorthand: \`${k}\` is moved into the params of the plugin named by ${v.map((x) => `\`${x}\``).join(' or ')}.`, '');
    if (sm.repeatable) out.push('May appear more than once in a pipeline.', '');
  }
  out.push(...capabilities(meta));
  const rows = paramRows(meta.params);
  if (rows.length) out.push('| param | type | default | bounds | description |', '|---|---|---|---|---|', ...rows);
  else out.push('No params.');
  out.push('', '<!-- generated by `pipeline-run docs`; do not edit -->', '');
  return out.join('\n');
}

/** The reference pages (path under the reference folder -> text) of a registry. */
export function generateDocs(registry: PluginRegistry): Record<string, string> {
  const files: Record<string, string> = {};
  const index = ['# Plugin reference', '', 'Every plugin by kind, generated from the registry (`pipeline-run docs`).', ''];
  for (const kind of PLUGIN_KINDS) {
    index.push(`## ${kind}s`, '', '| name | description |', '|---|---|');
    for (const name of registry.names(kind)) {
      const meta = registry.lookup(kind, name)!.cls.meta;
      files[`${kind}/${name}.md`] = page(meta);
      index.push(`| [\`${name}\`](${kind}/${name}.md)${meta.planned ? ' (planned)' : ''} | ${cell(meta.description)} |`);
    }
    index.push('');
  }
  index.push('<!-- generated by `pipeline-run docs`; do not edit -->', '');
  files['README.md'] = index.join('\n');
  return files;
}


/** The schema files that differ from what the registry generates (missing ones too); written unless `check`. */
function syncSchemas(out: string, check: boolean): GeneratedFiles {
  const dir = resolve(out);
  const files = generateSchemas(getRegistry());
  const stale: string[] = [];
  for (const [name, schema] of Object.entries(files)) {
    const path = join(dir, name);
    const text = schemaText(schema);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === text) continue;
    stale.push(name);
    if (!check) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${path}.tmp`, text);
      renameSync(`${path}.tmp`, path);
    }
  }
  return { dir, files: Object.keys(files).length, stale, extra: [] };
}

/** Writes the editor schemas into `out` (default `schemas`) where they differ; `stale` names the files written. */
export const writeSchemas = (out = 'schemas'): GeneratedFiles => syncSchemas(out, false);
/** Compares the schemas in `out` (default `schemas`) with the registry's; `stale` names the ones that differ. Writes nothing. */
export const checkSchemas = (out = 'schemas'): GeneratedFiles => syncSchemas(out, true);

/** The reference pages that differ (`stale`) and the pages of no plugin (`extra`); brought up to date unless `check`. */
function syncDocs(out: string, check: boolean): GeneratedFiles {
  const dir = resolve(out);
  const files = generateDocs(getRegistry());
  const stale = Object.entries(files).filter(([name, text]) => !existsSync(join(dir, name)) || readFileSync(join(dir, name), 'utf8') !== text).map(([n]) => n);
  const extra = existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md') && !(f in files)) : [];
  if (!check) {
    for (const e of extra) rmSync(join(dir, e));
    for (const name of stale) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), files[name]!);
    }
  }
  return { dir, files: Object.keys(files).length, stale, extra };
}

/** Writes the config reference into `out` (default `docs/reference`): `stale` pages written, `extra` pages removed. */
export const writeDocs = (out = 'docs/reference'): GeneratedFiles => syncDocs(out, false);
/** Compares the config reference in `out` (default `docs/reference`) with the registry's. Writes nothing. */
export const checkDocs = (out = 'docs/reference'): GeneratedFiles => syncDocs(out, true);
