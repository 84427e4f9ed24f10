/** Child-process main of postgres-sink: `node --import tsx src/connectors/postgres-sink/main.ts`. */
import { servePlugin } from '../../plugins/index.js';
import { postgresSinkPlugin } from './index.js';

await servePlugin(postgresSinkPlugin);
