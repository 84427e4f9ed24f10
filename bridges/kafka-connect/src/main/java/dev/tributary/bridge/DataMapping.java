package dev.tributary.bridge;

import com.google.protobuf.ByteString;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Time;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.errors.DataException;
import tributary.connector.v1.ConnectorOuterClass.Data;
import tributary.connector.v1.ConnectorOuterClass.DataArray;
import tributary.connector.v1.ConnectorOuterClass.DataMap;
import tributary.connector.v1.ConnectorOuterClass.DataMapEntry;
import tributary.connector.v1.ConnectorOuterClass.DataStruct;
import tributary.connector.v1.ConnectorOuterClass.SchemaType;

/**
 * Kafka Connect's data model ({@code Schema}, {@code Struct}, lists, maps, logical types) to and
 * from the protocol's {@code Schema}/{@code Data}, both directions. Logical types travel in
 * their Connect representation (Decimal as unscaled bytes with the scale in the schema's
 * parameters, Date as days, Time as ms of the day, Timestamp as ms since the epoch), exactly as
 * Kafka Connect's own converters see them. Schemaless values map by their Java type; integers
 * come back as Long and floats as Double (as through Kafka Connect's JsonConverter).
 *
 * Not thread-safe: one instance per stream (it caches schema conversions by identity, since
 * connectors reuse schema objects record after record).
 */
final class DataMapping {
  private static final Data NULL = Data.newBuilder().setNull(true).build();
  private final Map<Schema, tributary.connector.v1.ConnectorOuterClass.Schema> toProtoCache = new IdentityHashMap<>();
  private final Map<tributary.connector.v1.ConnectorOuterClass.Schema, Schema> fromProtoCache = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<tributary.connector.v1.ConnectorOuterClass.Schema, Schema> eldest) {
      return size() > 256;
    }
  };

  // ---- schemas ----

  tributary.connector.v1.ConnectorOuterClass.Schema schema(Schema s) {
    tributary.connector.v1.ConnectorOuterClass.Schema cached = toProtoCache.get(s);
    if (cached != null) return cached;
    if (toProtoCache.size() > 1024) toProtoCache.clear();
    tributary.connector.v1.ConnectorOuterClass.Schema.Builder b = tributary.connector.v1.ConnectorOuterClass.Schema.newBuilder()
        .setType(type(s.type())).setOptional(s.isOptional());
    if (s.name() != null) b.setName(s.name());
    if (s.version() != null) b.setVersion(s.version());
    if (s.doc() != null) b.setDoc(s.doc());
    if (s.parameters() != null) b.putAllParameters(s.parameters());
    switch (s.type()) {
      case STRUCT -> {
        for (Field f : s.fields()) b.addFields(tributary.connector.v1.ConnectorOuterClass.Field.newBuilder().setName(f.name()).setSchema(schema(f.schema())));
      }
      case ARRAY -> b.setValueSchema(schema(s.valueSchema()));
      case MAP -> b.setKeySchema(schema(s.keySchema())).setValueSchema(schema(s.valueSchema()));
      default -> {}
    }
    cached = b.build();
    toProtoCache.put(s, cached);
    return cached;
  }

  Schema connectSchema(tributary.connector.v1.ConnectorOuterClass.Schema p) {
    Schema cached = fromProtoCache.get(p);
    if (cached != null) return cached;
    SchemaBuilder b = switch (p.getType()) {
      case SCHEMA_TYPE_INT8 -> SchemaBuilder.int8();
      case SCHEMA_TYPE_INT16 -> SchemaBuilder.int16();
      case SCHEMA_TYPE_INT32 -> SchemaBuilder.int32();
      case SCHEMA_TYPE_INT64 -> SchemaBuilder.int64();
      case SCHEMA_TYPE_FLOAT32 -> SchemaBuilder.float32();
      case SCHEMA_TYPE_FLOAT64 -> SchemaBuilder.float64();
      case SCHEMA_TYPE_BOOLEAN -> SchemaBuilder.bool();
      case SCHEMA_TYPE_STRING -> SchemaBuilder.string();
      case SCHEMA_TYPE_BYTES -> SchemaBuilder.bytes();
      case SCHEMA_TYPE_ARRAY -> SchemaBuilder.array(connectSchema(p.getValueSchema()));
      case SCHEMA_TYPE_MAP -> SchemaBuilder.map(connectSchema(p.getKeySchema()), connectSchema(p.getValueSchema()));
      case SCHEMA_TYPE_STRUCT -> {
        SchemaBuilder sb = SchemaBuilder.struct();
        for (tributary.connector.v1.ConnectorOuterClass.Field f : p.getFieldsList()) sb.field(f.getName(), connectSchema(f.getSchema()));
        yield sb;
      }
      default -> throw new DataException("schema type " + p.getType() + " is not a Kafka Connect type");
    };
    if (p.hasName()) b.name(p.getName());
    if (p.hasVersion()) b.version(p.getVersion());
    if (p.hasDoc()) b.doc(p.getDoc());
    if (p.getParametersCount() > 0) b.parameters(p.getParametersMap());
    if (p.getOptional()) b.optional();
    Schema built = b.build();
    fromProtoCache.put(p, built);
    return built;
  }

  private static SchemaType type(Schema.Type t) {
    return switch (t) {
      case INT8 -> SchemaType.SCHEMA_TYPE_INT8;
      case INT16 -> SchemaType.SCHEMA_TYPE_INT16;
      case INT32 -> SchemaType.SCHEMA_TYPE_INT32;
      case INT64 -> SchemaType.SCHEMA_TYPE_INT64;
      case FLOAT32 -> SchemaType.SCHEMA_TYPE_FLOAT32;
      case FLOAT64 -> SchemaType.SCHEMA_TYPE_FLOAT64;
      case BOOLEAN -> SchemaType.SCHEMA_TYPE_BOOLEAN;
      case STRING -> SchemaType.SCHEMA_TYPE_STRING;
      case BYTES -> SchemaType.SCHEMA_TYPE_BYTES;
      case ARRAY -> SchemaType.SCHEMA_TYPE_ARRAY;
      case MAP -> SchemaType.SCHEMA_TYPE_MAP;
      case STRUCT -> SchemaType.SCHEMA_TYPE_STRUCT;
    };
  }

  // ---- values: Connect -> protocol ----

  /** A Connect value described by {@code s} (null for schemaless). */
  Data data(Schema s, Object v) {
    if (v == null) return NULL;
    if (s == null) return schemaless(v);
    String logical = s.name();
    return switch (s.type()) {
      case INT8, INT16, INT64, INT32 -> {
        if (v instanceof java.util.Date d) {
          long n = Date.LOGICAL_NAME.equals(logical) ? Date.fromLogical(s, d)
              : Time.LOGICAL_NAME.equals(logical) ? Time.fromLogical(s, d)
              : Timestamp.LOGICAL_NAME.equals(logical) ? Timestamp.fromLogical(s, d)
              : failType(s, v);
          yield Data.newBuilder().setInt(n).build();
        }
        yield Data.newBuilder().setInt(((Number) v).longValue()).build();
      }
      case FLOAT32, FLOAT64 -> Data.newBuilder().setFloat(((Number) v).doubleValue()).build();
      case BOOLEAN -> Data.newBuilder().setBoolean((Boolean) v).build();
      case STRING -> Data.newBuilder().setString(v.toString()).build();
      case BYTES -> {
        if (v instanceof BigDecimal bd) yield Data.newBuilder().setBytes(ByteString.copyFrom(Decimal.fromLogical(s, bd))).build();
        yield Data.newBuilder().setBytes(bytes(v, s)).build();
      }
      case ARRAY -> {
        DataArray.Builder a = DataArray.newBuilder();
        for (Object item : (List<?>) v) a.addItems(data(s.valueSchema(), item));
        yield Data.newBuilder().setArray(a).build();
      }
      case MAP -> {
        DataMap.Builder m = DataMap.newBuilder();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) m.addEntries(DataMapEntry.newBuilder().setKey(data(s.keySchema(), e.getKey())).setValue(data(s.valueSchema(), e.getValue())));
        yield Data.newBuilder().setMap(m).build();
      }
      case STRUCT -> {
        Struct st = (Struct) v;
        DataStruct.Builder b = DataStruct.newBuilder();
        for (Field f : s.fields()) b.addFields(data(f.schema(), st.get(f)));
        yield Data.newBuilder().setStruct(b).build();
      }
    };
  }

  private static long failType(Schema s, Object v) {
    throw new DataException("a " + v.getClass().getName() + " does not fit schema " + s.type() + (s.name() == null ? "" : " " + s.name()));
  }

  private static ByteString bytes(Object v, Schema s) {
    if (v instanceof byte[] b) return ByteString.copyFrom(b);
    if (v instanceof ByteBuffer bb) return ByteString.copyFrom(bb.duplicate());
    failType(s, v);
    return ByteString.EMPTY;
  }

  /** A schemaless value, typed by its Java class (Kafka Connect's schemaless maps, lists and primitives). */
  Data schemaless(Object v) {
    if (v == null) return NULL;
    if (v instanceof Byte || v instanceof Short || v instanceof Integer || v instanceof Long) return Data.newBuilder().setInt(((Number) v).longValue()).build();
    if (v instanceof Float || v instanceof Double) return Data.newBuilder().setFloat(((Number) v).doubleValue()).build();
    if (v instanceof Boolean b) return Data.newBuilder().setBoolean(b).build();
    if (v instanceof String str) return Data.newBuilder().setString(str).build();
    if (v instanceof byte[] || v instanceof ByteBuffer) return Data.newBuilder().setBytes(bytes(v, null)).build();
    if (v instanceof List<?> l) {
      DataArray.Builder a = DataArray.newBuilder();
      for (Object item : l) a.addItems(schemaless(item));
      return Data.newBuilder().setArray(a).build();
    }
    if (v instanceof Map<?, ?> m) {
      DataMap.Builder b = DataMap.newBuilder();
      for (Map.Entry<?, ?> e : m.entrySet()) b.addEntries(DataMapEntry.newBuilder().setKey(schemaless(e.getKey())).setValue(schemaless(e.getValue())));
      return Data.newBuilder().setMap(b).build();
    }
    if (v instanceof Struct st) return data(st.schema(), st);
    throw new DataException("a schemaless " + v.getClass().getName() + " has no Kafka Connect type (use a schema)");
  }

  // ---- values: protocol -> Connect ----

  Object value(Schema s, Data d) {
    if (d == null || d.getKindCase() == Data.KindCase.NULL || d.getKindCase() == Data.KindCase.KIND_NOT_SET) return null;
    if (s == null) return schemaless(d);
    String logical = s.name();
    return switch (s.type()) {
      case INT8 -> (byte) d.getInt();
      case INT16 -> (short) d.getInt();
      case INT32 -> Date.LOGICAL_NAME.equals(logical) ? Date.toLogical(s, (int) d.getInt())
          : Time.LOGICAL_NAME.equals(logical) ? Time.toLogical(s, (int) d.getInt()) : (Object) (int) d.getInt();
      case INT64 -> Timestamp.LOGICAL_NAME.equals(logical) ? Timestamp.toLogical(s, d.getInt()) : (Object) d.getInt();
      case FLOAT32 -> (float) d.getFloat();
      case FLOAT64 -> d.getFloat();
      case BOOLEAN -> d.getBoolean();
      case STRING -> d.getString();
      case BYTES -> Decimal.LOGICAL_NAME.equals(logical) ? Decimal.toLogical(s, d.getBytes().toByteArray()) : d.getBytes().toByteArray();
      case ARRAY -> {
        List<Object> out = new ArrayList<>(d.getArray().getItemsCount());
        for (Data item : d.getArray().getItemsList()) out.add(value(s.valueSchema(), item));
        yield out;
      }
      case MAP -> {
        Map<Object, Object> out = new LinkedHashMap<>();
        for (DataMapEntry e : d.getMap().getEntriesList()) out.put(value(s.keySchema(), e.getKey()), value(s.valueSchema(), e.getValue()));
        yield out;
      }
      case STRUCT -> {
        Struct st = new Struct(s);
        List<Field> fields = s.fields();
        List<Data> values = d.getStruct().getFieldsList();
        if (values.size() != fields.size()) throw new DataException("a struct of schema " + s.name() + " has " + fields.size() + " fields, the data " + values.size());
        for (int i = 0; i < fields.size(); i++) st.put(fields.get(i), value(fields.get(i).schema(), values.get(i)));
        yield st;
      }
    };
  }

  Object schemaless(Data d) {
    return switch (d.getKindCase()) {
      case NULL, KIND_NOT_SET -> null;
      case INT -> d.getInt();
      case FLOAT -> d.getFloat();
      case BOOLEAN -> d.getBoolean();
      case STRING -> d.getString();
      case BYTES -> d.getBytes().toByteArray();
      case ARRAY -> {
        List<Object> out = new ArrayList<>();
        for (Data item : d.getArray().getItemsList()) out.add(schemaless(item));
        yield out;
      }
      case MAP -> {
        Map<Object, Object> out = new LinkedHashMap<>();
        for (DataMapEntry e : d.getMap().getEntriesList()) out.put(schemaless(e.getKey()), schemaless(e.getValue()));
        yield out;
      }
      case STRUCT -> throw new DataException("a struct without a schema cannot be read");
    };
  }
}
