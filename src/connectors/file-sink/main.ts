/** Child-process main of the file sink: `node --import tsx src/connectors/file-sink/main.ts`. */
import { servePlugin } from '../../plugins/index.js';
import { fileSinkPlugin } from './index.js';

await servePlugin(fileSinkPlugin);
