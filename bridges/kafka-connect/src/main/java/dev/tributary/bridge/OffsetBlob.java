package dev.tributary.bridge;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import tributary.connector.v1.ConnectorOuterClass.DataMap;
import tributary.connector.v1.ConnectorOuterClass.DataMapEntry;

/**
 * All source partitions and offsets of one Kafka Connect task, as one stream-partition offset:
 * a version byte (1) followed by a serialized {@code DataMap} whose entries map each source
 * partition (schemaless Data) to its latest source offset (schemaless Data). Every record
 * carries the whole map as of itself, so committing any record's offset commits every source
 * partition the task had read up to it. Entries are kept serialized and concatenated (a
 * repeated field's encoding is the concatenation of its elements), so a record costs one rope
 * concatenation per source partition, not a re-encoding of the map.
 */
final class OffsetBlob {
  static final byte VERSION = 1;
  private static final ByteString HEADER = ByteString.copyFrom(new byte[] {VERSION});

  private final DataMapping mapping = new DataMapping();
  /** Source partition (normalised) -> its entry, serialized as field 1 of a DataMap. */
  private final LinkedHashMap<Object, ByteString> entries = new LinkedHashMap<>();
  /** Source partition (normalised) -> offset (normalised), for OffsetStorageReader. */
  private final Map<Object, Map<String, Object>> offsets = new HashMap<>();
  private ByteString current = HEADER;

  /** Restores the state a committed offset describes. Throws IllegalArgumentException for a blob this bridge did not write. */
  @SuppressWarnings("unchecked")
  void restore(ByteString blob) {
    if (blob.isEmpty() || blob.byteAt(0) != VERSION) {
      throw new IllegalArgumentException("the committed offset is not a Kafka Connect bridge offset of version " + VERSION
          + " (first byte " + (blob.isEmpty() ? "absent" : String.valueOf(blob.byteAt(0))) + ")");
    }
    DataMap map;
    try {
      map = DataMap.parseFrom(blob.substring(1));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("the committed offset cannot be decoded: " + e.getMessage(), e);
    }
    for (DataMapEntry e : map.getEntriesList()) {
      Object partition = mapping.schemaless(e.getKey());
      entries.put(partition, DataMap.newBuilder().addEntries(e).build().toByteString());
      offsets.put(partition, (Map<String, Object>) mapping.schemaless(e.getValue()));
    }
    rebuild();
  }

  /** Records that {@code partition} is now at {@code offset}; returns the blob as of that record. */
  ByteString advance(Map<String, ?> partition, Map<String, ?> offset) {
    if (partition == null || offset == null) return current;
    Object key = normalise(partition);
    ByteString entry = DataMap.newBuilder().addEntries(DataMapEntry.newBuilder().setKey(mapping.schemaless(partition)).setValue(mapping.schemaless(offset))).build().toByteString();
    ByteString before = entries.put(key, entry);
    if (before != null && before.equals(entry)) return current;
    rebuild();
    return current;
  }

  ByteString current() {
    return current;
  }

  /** The committed offset of a source partition, with integers as Long (as Kafka Connect's offset store returns them). */
  Map<String, Object> offset(Map<String, ?> partition) {
    return partition == null ? null : offsets.get(normalise(partition));
  }

  private Object normalise(Map<String, ?> partition) {
    return mapping.schemaless(mapping.schemaless(partition));
  }

  private void rebuild() {
    ByteString b = HEADER;
    for (ByteString e : entries.values()) b = b.concat(e);
    current = b;
  }
}
