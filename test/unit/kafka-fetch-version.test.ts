/**
 * negotiateFetch: the partition reader sends Fetch through @platformatic/kafka's protocol layer
 * (src/kafka/platformatic/fetch.ts), so it picks the version itself from the broker's ApiVersions.
 * The double implements the one method the function needs (listApis); no broker.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailedPreconditionError } from '../../src/errors.js';
import { negotiateFetch } from '../../src/kafka/platformatic/fetch.js';

const broker = (apis: Array<{ apiKey: number; name: string; minVersion: number; maxVersion: number }>) => ({ listApis: async () => apis });

describe('negotiateFetch', () => {
  it('takes the newest Fetch version both the broker and the library implement', async () => {
    assert.equal((await negotiateFetch(broker([{ apiKey: 1, name: 'Fetch', minVersion: 4, maxVersion: 18 }]))).version, 17);
    assert.equal((await negotiateFetch(broker([{ apiKey: 1, name: 'Fetch', minVersion: 4, maxVersion: 15 }]))).version, 15);
  });

  it('refuses a broker without a Fetch version that addresses topics by id, naming what it offers', async () => {
    await assert.rejects(negotiateFetch(broker([{ apiKey: 1, name: 'Fetch', minVersion: 4, maxVersion: 12 }])), (err) => {
      assert.ok(err instanceof FailedPreconditionError);
      assert.match(err.message, /Fetch versions 4-12/);
      return true;
    });
    await assert.rejects(negotiateFetch(broker([{ apiKey: 0, name: 'Produce', minVersion: 3, maxVersion: 12 }])), /Fetch versions none/);
  });
});
