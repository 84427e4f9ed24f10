import { TributaryError } from '../errors.js';

/**
 * A plugin's stream failed (it crashed, broke the protocol, or ended on its own): the partition
 * FAILS with the plugin's reason, and is not retried behind the operator's back. The host
 * restarts a crashed plugin process; the operator (or the admin API) restarts the partition,
 * which resumes from its committed offset.
 */
export function pluginFailure(err: unknown, connector: string, partition: string): TributaryError {
  if (err instanceof TributaryError && !err.retriable) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TributaryError('INTERNAL', `connector "${connector}" partition "${partition}": plugin failed: ${message}; restart the partition once the plugin is healthy`, { cause: err, retriable: false });
}
