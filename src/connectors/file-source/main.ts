/** Child-process main of the file source: `node --import tsx src/connectors/file-source/main.ts`. */
import { servePlugin } from '../../plugins/index.js';
import { fileSourcePlugin } from './index.js';

await servePlugin(fileSourcePlugin);
