/**
 * Built-in connectors: registered in-process on every worker, so they run without a plugin
 * directory. Each is built on the public plugin SDK, exactly like an external plugin.
 */
import type { PluginHost } from '../plugins/index.js';
import { FILE_SINK, fileSinkPlugin } from './file-sink/index.js';
import { FILE_SOURCE, fileSourcePlugin } from './file-source/index.js';
import { VERIFIABLE_SINK, verifiableSinkPlugin } from './verifiable-sink/index.js';
import { VERIFIABLE_SOURCE, verifiableSourcePlugin } from './verifiable-source/index.js';

export function registerBuiltinConnectors(host: PluginHost): void {
  host.register({ name: VERIFIABLE_SOURCE, source: { type: 'in-process', create: () => verifiableSourcePlugin } });
  host.register({ name: VERIFIABLE_SINK, source: { type: 'in-process', create: () => verifiableSinkPlugin } });
  host.register({ name: FILE_SOURCE, source: { type: 'in-process', create: () => fileSourcePlugin } });
  host.register({ name: FILE_SINK, source: { type: 'in-process', create: () => fileSinkPlugin } });
}

export { VERIFIABLE_SOURCE, VERIFIABLE_SINK, FILE_SOURCE, FILE_SINK };
