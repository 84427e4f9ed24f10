export { EtcdBackend, createEtcdBackend, type EtcdBackendOptions } from './backend.js';
