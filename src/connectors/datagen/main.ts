/** Child-process main of datagen: `node --import tsx src/connectors/datagen/main.ts`. */
import { servePlugin } from '../../plugins/index.js';
import { datagenPlugin } from './index.js';

await servePlugin(datagenPlugin);
