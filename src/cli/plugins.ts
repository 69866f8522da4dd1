/** `pipeline-run plugins [--kind K] [--json]`: every plugin with its description, params and defaults (the API's listPlugins). */
import type { Command } from 'commander';
import type { JsonSchema, PluginKind, PluginMeta, StageMeta } from '../core/plugin.js';
import { formatText } from './format.js';
import { PLUGIN_KINDS } from '../core/plugin.js';
import { inputError } from '../core/errors.js';
import { PLUGIN_REF_KEYWORD } from '../core/params.js';
import { listPlugins } from '../api/config.js';
import { writeJson } from './shared.js';

function typeLabel(s: JsonSchema): string {
  if (typeof s[PLUGIN_REF_KEYWORD] === 'string') return `${s[PLUGIN_REF_KEYWORD]}`;
  if (Array.isArray(s.enum)) return s.enum.map((e) => JSON.stringify(e)).join('|');
  if (s.type === 'array' && s.items && typeof (s.items as JsonSchema)[PLUGIN_REF_KEYWORD] === 'string') return `${(s.items as JsonSchema)[PLUGIN_REF_KEYWORD]}[]`;
  if (s.type === 'array') return `${typeLabel((s.items as JsonSchema) ?? {})}[]`;
  if (s.anyOf) return (s.anyOf as JsonSchema[]).map(typeLabel).join('|');
  if (s.const !== undefined) return JSON.stringify(s.const);
  return Array.isArray(s.type) ? s.type.join('|') : String(s.type ?? 'any');
}

/** A plugin's meta, and where it comes from when a pipeline's own modules are listed beside the built-ins. */
type Listed = PluginMeta & { origin?: string };

export function describePlugins(kinds: PluginKind[], list: (kind: PluginKind) => Listed[] = listPlugins): string {
  const out: string[] = [];
  for (const kind of kinds) {
    out.push(`${kind}s:`);
    for (const meta of list(kind)) {
      const name = meta.name;
      const tags = [meta.origin && !meta.origin.startsWith('built-in') ? `(from ${meta.origin})` : '', meta.planned ? '(planned)' : '', ...(meta.aliases ?? []).map((a) => `(alias ${a.name}, deprecated)`)].filter(Boolean).join(' ');
      out.push(`  ${name}${tags ? ` ${tags}` : ''}: ${meta.description}`);
      if (kind === 'stage') {
        const sm = meta as StageMeta;
        out.push(`      requires: ${sm.requires.join(', ') || '-'}; provides: ${sm.provides.join(', ')}${sm.reads?.length ? `; reads when present: ${sm.reads.join(', ')}` : ''}`);
      }
      const props = (meta.params.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((meta.params.required as string[] | undefined) ?? []);
      for (const [p, s] of Object.entries(props)) {
        const dflt = s.default !== undefined ? ` = ${JSON.stringify(s.default)}` : required.has(p) ? ' (required)' : '';
        out.push(`      ${p}: ${typeLabel(s)}${dflt}${s.description ? `  ${String(s.description)}` : ''}`);
      }
    }
    out.push('');
  }
  return out.join('\n');
}

export function registerPluginsCommand(program: Command): void {
  program
    .command('plugins [pipeline]')
    .description("list every plugin with its params and defaults; given a pipeline file, its own plugin modules' too")
    .option('--kind <kind>', `only this kind: ${PLUGIN_KINDS.join(' | ')}`)
    .option('--json', 'machine-readable output')
    .action(async (file: string | undefined, opts: { kind?: string; json?: boolean }) => {
      if (opts.kind && !(PLUGIN_KINDS as readonly string[]).includes(opts.kind))
        throw inputError('USAGE', `unknown kind '${opts.kind}'`, `Kinds: ${PLUGIN_KINDS.join(', ')}.`);
      const kinds = opts.kind ? [opts.kind as PluginKind] : [...PLUGIN_KINDS];
      let list: (kind: PluginKind) => Listed[] = listPlugins;
      if (file) {
        // The pipeline's registry: the built-ins and the modules its `plugins:` loads (a module that cannot load is
        // the file's error, printed as validate prints it).
        const { validateWith } = await import('../api/config.js');
        const v = await validateWith(file, {});
        // A file that cannot be read or parsed has no `plugins:` to read, and a module that cannot load lists
        // nothing: either is the file's error (listing the built-ins alone would say it has no modules).
        const broken = v.diagnostics.filter((d) => d.severity === 'error' && (d.layer === 'file' || d.layer === 'syntax' || d.code.startsWith('REF_PLUGIN_MODULE')));
        if (broken.length) {
          process.stderr.write(formatText(broken));
          throw inputError('CONFIG_INVALID', `${file}: its plugin modules cannot be read; nothing is listed`);
        }
        const r = v.registry;
        list = (kind) => r.names(kind).map((n) => ({ ...r.lookup(kind, n)!.cls.meta, origin: r.originOf(kind, n) }));
      }
      if (opts.json) writeJson(kinds.flatMap((k) => list(k)));
      else process.stdout.write(describePlugins(kinds, list));
    });
}
