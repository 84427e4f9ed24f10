/** The public library surface of the `tributary` package. */
export * from './errors.js';
