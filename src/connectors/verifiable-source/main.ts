/** Child-process main of the verifiable source: `node --import tsx src/connectors/verifiable-source/main.ts`. */
import { servePlugin } from '../../plugins/index.js';
import { verifiableSourcePlugin } from './index.js';

await servePlugin(verifiableSourcePlugin);
