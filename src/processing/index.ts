/**
 * Record processing with Kafka Connect semantics: schemas and the in-memory structured form,
 * converters, transforms, predicates, and the one error operator (retry, tolerance,
 * dead-letter topics). The worker's source and sink tasks call one stage per batch.
 */
export * from './data.js';
export { schemaFromProto, schemaToProto, valueFromProto, valueToProto, dataMessage } from './proto.js';
export { parseJson, quoteJson, javaDoubleString, javaFloatString, type JsonNode } from './json.js';
export {
  JsonConverter,
  StringConverter,
  ByteArrayConverter,
  SimpleHeaderConverter,
  converterDefinitions,
  headerConverterDefinitions,
  javaToString,
  type Converter,
  type HeaderConverter,
  type ComponentDefinition,
  type JsonConverterOptions,
} from './converters.js';
export { ComponentConfig, type ComponentKey } from './component-config.js';
export { processingPlugins, processingKeysIn, unknownKeys, type ProcessingPluginInfo } from './catalog.js';
export { parseProcessing, type ProcessingSettings } from './config.js';
export { ProcessingPipeline, passThroughProcessor, type RecordProcessor } from './pipeline.js';
export { registerTransform, registerPredicate } from './transforms/index.js';
