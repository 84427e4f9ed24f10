/**
 * Built-in connectors: registered in-process on every worker, so they run without a plugin
 * directory. Each is built on the public plugin SDK, exactly like an external plugin.
 */
import type { PluginHost } from '../plugins/index.js';
import { VERIFIABLE_SINK, verifiableSinkPlugin } from './verifiable-sink/index.js';
import { VERIFIABLE_SOURCE, verifiableSourcePlugin } from './verifiable-source/index.js';

export function registerBuiltinConnectors(host: PluginHost): void {
  host.register({ name: VERIFIABLE_SOURCE, source: { type: 'in-process', create: () => verifiableSourcePlugin } });
  host.register({ name: VERIFIABLE_SINK, source: { type: 'in-process', create: () => verifiableSinkPlugin } });
}

export { VERIFIABLE_SOURCE, VERIFIABLE_SINK };
