/** Exactly-once sources (KIP-618, per stream partition): transactional ids, the offsets topic, recovery, transactions. */
export { transactionalIdFor, transactionalIdPrefix } from './transactional-id.js';
export { OffsetsTopic, offsetRecordKey, encodeOffsetValue, decodeOffsetValue, type OffsetsTopicOptions } from './offsets-topic.js';
export { chooseStartingOffset, type StartingOffset, type OffsetOrigin } from './recovery.js';
export { PartitionTransactions, type PartitionTransactionsOptions } from './transactions.js';
