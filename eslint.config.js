import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['src/gen/**', 'node_modules/**', 'dist/**', 'examples/**/gen/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [
        { name: 'kafkajs', message: 'Kafka libraries are used only behind src/kafka/.' },
        { name: '@platformatic/kafka', message: 'Kafka libraries are used only behind src/kafka/.' },
      ] }],
    },
  },
  {
    // Tests check Kafka with independent clients; src/kafka is the one seam that may use them.
    files: ['src/kafka/**', 'test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
