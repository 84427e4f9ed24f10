import { PluginProcessDownError, TributaryError } from '../errors.js';

/**
 * A plugin's stream failed. Two cases, kept apart so a failure stays with the partition that
 * caused it:
 * - the plugin's shared child process died (killed, crashed, or SIGKILLed because one sibling's
 *   drain hung): a PluginProcessDownError, retriable — the host starts a fresh process and the
 *   partition resumes on it from its committed offset, without counting as its own failure;
 * - anything else (the plugin refused `open`, broke the protocol, ended the stream on its own):
 *   the partition FAILS with the plugin's reason, and the restart policy of its connector
 *   (`task.restart.*`, see restart-policy.ts) decides whether and when it is tried again.
 */
export function pluginFailure(err: unknown, connector: string, partition: string): TributaryError {
  if (err instanceof PluginProcessDownError) return err;
  if (err instanceof TributaryError && !err.retriable) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TributaryError('INTERNAL', `connector "${connector}" partition "${partition}": plugin failed: ${message}`, { cause: err, retriable: false });
}
