/** Child-process main of postgres-query: `node --import tsx src/connectors/postgres-query/main.ts`. */
import { servePlugin } from '../../plugins/index.js';
import { postgresQueryPlugin } from './index.js';

await servePlugin(postgresQueryPlugin);
