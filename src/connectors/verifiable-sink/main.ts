/** Child-process main of the verifiable sink: `node --import tsx src/connectors/verifiable-sink/main.ts`. */
import { servePlugin } from '../../plugins/index.js';
import { verifiableSinkPlugin } from './index.js';

await servePlugin(verifiableSinkPlugin);
