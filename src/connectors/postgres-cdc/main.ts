/** Child-process main of postgres-cdc: `node --import tsx src/connectors/postgres-cdc/main.ts`. */
import { servePlugin } from '../../plugins/index.js';
import { postgresCdcPlugin } from './index.js';

await servePlugin(postgresCdcPlugin);
