export type { OffsetStore, CommittedOffset } from './offset-store.js';
export { FileOffsetStore } from './file-offset-store.js';
