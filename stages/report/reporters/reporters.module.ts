/** Built-in reporters, bound by name. */
import { pluginModule } from '../../../src/core/registry.js';
import { HtmlReporter } from './html.reporter.js';
import { MarkdownReporter } from './markdown.reporter.js';

export const reporterModule = pluginModule('reporter', [MarkdownReporter, HtmlReporter]);
