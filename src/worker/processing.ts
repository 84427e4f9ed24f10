/**
 * The record-processing hook between plugins and Kafka: the connector's ProcessingPipeline
 * (src/processing: converters, transforms, error handling and dead-letter topics), or the
 * pass-through default that moves bytes as they are. The source and sink tasks call one stage
 * per batch. A processor may drop records (a filter): offsets still advance over the whole
 * plugin batch, because the batch's position in the source was consumed.
 */
export { passThroughProcessor, ProcessingPipeline, type RecordProcessor, type SourceContext, type SinkContext } from '../processing/pipeline.js';
