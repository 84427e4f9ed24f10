package plugin

import (
	"fmt"
	"sort"

	pb "tributary.dev/sdks/go/gen/tributary/connector/v1"
)

// Structured keys and values (Record.StructuredKey / StructuredValue) in Kafka Connect's data
// model. A source sets either the bytes (Key/Value) or the structured form with an optional
// schema (KeySchema/ValueSchema); the worker's converter turns structured data into Kafka bytes.
// In Go the structured form is:
//
//	INT8…INT64 → int, int8…int64 (and unsigned that fit) · FLOAT32/64 → float32, float64
//	BOOLEAN → bool · STRING → string · BYTES → []byte · ARRAY → []any
//	MAP → map[K]V or []MapEntry (ordered) · STRUCT → map[string]any by field name (needs the schema)
//	null → nil
//
// Without a schema a map travels as a MAP (keys sorted, for a stable encoding).

// MapEntry is one entry of an ordered MAP.
type MapEntry struct {
	Key, Value any
}

// Schema shorthands.
func SchemaOf(t pb.SchemaType, optional bool) *pb.Schema { return &pb.Schema{Type: t, Optional: optional} }

// StructSchema is a STRUCT schema with the given fields, in order.
func StructSchema(name string, fields ...*pb.Field) *pb.Schema {
	return &pb.Schema{Type: pb.SchemaType_SCHEMA_TYPE_STRUCT, Name: &name, Fields: fields}
}

// FieldOf is one STRUCT field.
func FieldOf(name string, s *pb.Schema) *pb.Field { return &pb.Field{Name: name, Schema: s} }

var intBits = map[pb.SchemaType]uint{
	pb.SchemaType_SCHEMA_TYPE_INT8: 8, pb.SchemaType_SCHEMA_TYPE_INT16: 16,
	pb.SchemaType_SCHEMA_TYPE_INT32: 32, pb.SchemaType_SCHEMA_TYPE_INT64: 64,
}

func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n <= 1<<63-1 {
			return int64(n), true
		}
	case uint:
		if uint64(n) <= 1<<63-1 {
			return int64(n), true
		}
	}
	return 0, false
}

func dataErr(path, format string, args ...any) error {
	if path == "" {
		path = "<root>"
	}
	return invalidArgument("structured value at %s: %s", path, fmt.Sprintf(format, args...))
}

// ToData converts a Go value to Data, checked against schema when it is not nil. The error (an
// INVALID_ARGUMENT status) names the path of the offending element.
func ToData(v any, schema *pb.Schema) (*pb.Data, error) { return toData(v, schema, "") }

func toData(v any, s *pb.Schema, path string) (*pb.Data, error) {
	if v == nil {
		if s != nil && !s.GetOptional() {
			return nil, dataErr(path, "is null but its schema is not optional")
		}
		return &pb.Data{Kind: &pb.Data_Null{Null: true}}, nil
	}
	if s == nil {
		return schemaless(v, path)
	}
	t := s.GetType()
	if bits, ok := intBits[t]; ok {
		n, ok := asInt64(v)
		if !ok {
			return nil, dataErr(path, "%s needs an integer, got %T", t, v)
		}
		if bits < 64 && (n < -(1<<(bits-1)) || n >= 1<<(bits-1)) {
			return nil, dataErr(path, "%d is out of range for %s", n, t)
		}
		return &pb.Data{Kind: &pb.Data_Int{Int: n}}, nil
	}
	switch t {
	case pb.SchemaType_SCHEMA_TYPE_FLOAT32, pb.SchemaType_SCHEMA_TYPE_FLOAT64:
		switch f := v.(type) {
		case float64:
			return &pb.Data{Kind: &pb.Data_Float{Float: f}}, nil
		case float32:
			return &pb.Data{Kind: &pb.Data_Float{Float: float64(f)}}, nil
		}
		return nil, dataErr(path, "%s needs a float, got %T", t, v)
	case pb.SchemaType_SCHEMA_TYPE_BOOLEAN:
		if b, ok := v.(bool); ok {
			return &pb.Data{Kind: &pb.Data_Boolean{Boolean: b}}, nil
		}
	case pb.SchemaType_SCHEMA_TYPE_STRING:
		if str, ok := v.(string); ok {
			return &pb.Data{Kind: &pb.Data_String_{String_: str}}, nil
		}
	case pb.SchemaType_SCHEMA_TYPE_BYTES:
		if b, ok := v.([]byte); ok {
			return &pb.Data{Kind: &pb.Data_Bytes{Bytes: b}}, nil
		}
	case pb.SchemaType_SCHEMA_TYPE_ARRAY:
		if items, ok := v.([]any); ok {
			out := make([]*pb.Data, len(items))
			for i, item := range items {
				d, err := toData(item, s.GetValueSchema(), fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return nil, err
				}
				out[i] = d
			}
			return &pb.Data{Kind: &pb.Data_Array{Array: &pb.DataArray{Items: out}}}, nil
		}
	case pb.SchemaType_SCHEMA_TYPE_MAP:
		entries, ok := mapEntries(v)
		if ok {
			return mapData(entries, s.GetKeySchema(), s.GetValueSchema(), path)
		}
	case pb.SchemaType_SCHEMA_TYPE_STRUCT:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, dataErr(path, "STRUCT needs a map[string]any of field values, got %T", v)
		}
		known := map[string]bool{}
		fields := make([]*pb.Data, len(s.GetFields()))
		for i, f := range s.GetFields() {
			known[f.GetName()] = true
			p := f.GetName()
			if path != "" {
				p = path + "." + p
			}
			d, err := toData(m[f.GetName()], f.GetSchema(), p)
			if err != nil {
				return nil, err
			}
			fields[i] = d
		}
		for name := range m {
			if !known[name] {
				return nil, dataErr(path, "field %q is not in the schema", name)
			}
		}
		return &pb.Data{Kind: &pb.Data_Struct{Struct: &pb.DataStruct{Fields: fields}}}, nil
	default:
		return nil, dataErr(path, "unsupported schema type %s", t)
	}
	return nil, dataErr(path, "%s cannot hold %T", t, v)
}

func mapEntries(v any) ([]MapEntry, bool) {
	switch m := v.(type) {
	case []MapEntry:
		return m, true
	case map[string]any:
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]MapEntry, len(keys))
		for i, k := range keys {
			out[i] = MapEntry{k, m[k]}
		}
		return out, true
	case map[string]string:
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]MapEntry, len(keys))
		for i, k := range keys {
			out[i] = MapEntry{k, m[k]}
		}
		return out, true
	}
	return nil, false
}

func mapData(entries []MapEntry, ks, vs *pb.Schema, path string) (*pb.Data, error) {
	out := make([]*pb.DataMapEntry, len(entries))
	for i, e := range entries {
		k, err := toData(e.Key, ks, path+".<key>")
		if err != nil {
			return nil, err
		}
		val, err := toData(e.Value, vs, fmt.Sprintf("%s[%v]", path, e.Key))
		if err != nil {
			return nil, err
		}
		out[i] = &pb.DataMapEntry{Key: k, Value: val}
	}
	return &pb.Data{Kind: &pb.Data_Map{Map: &pb.DataMap{Entries: out}}}, nil
}

func schemaless(v any, path string) (*pb.Data, error) {
	if n, ok := asInt64(v); ok {
		return &pb.Data{Kind: &pb.Data_Int{Int: n}}, nil
	}
	switch x := v.(type) {
	case bool:
		return &pb.Data{Kind: &pb.Data_Boolean{Boolean: x}}, nil
	case float64:
		return &pb.Data{Kind: &pb.Data_Float{Float: x}}, nil
	case float32:
		return &pb.Data{Kind: &pb.Data_Float{Float: float64(x)}}, nil
	case string:
		return &pb.Data{Kind: &pb.Data_String_{String_: x}}, nil
	case []byte:
		return &pb.Data{Kind: &pb.Data_Bytes{Bytes: x}}, nil
	case []any:
		return toData(x, &pb.Schema{Type: pb.SchemaType_SCHEMA_TYPE_ARRAY}, path)
	}
	if entries, ok := mapEntries(v); ok {
		return mapData(entries, nil, nil, path)
	}
	return nil, dataErr(path, "%T has no structured form", v)
}

// FromData converts Data back to Go values: int64, float64, bool, string, []byte, []any,
// []MapEntry (MAP, in order), map[string]any (STRUCT with its schema; []any of field values
// without one), nil.
func FromData(d *pb.Data, s *pb.Schema) any {
	switch k := d.GetKind().(type) {
	case *pb.Data_Int:
		return k.Int
	case *pb.Data_Float:
		return k.Float
	case *pb.Data_Boolean:
		return k.Boolean
	case *pb.Data_String_:
		return k.String_
	case *pb.Data_Bytes:
		return k.Bytes
	case *pb.Data_Array:
		out := make([]any, len(k.Array.GetItems()))
		for i, item := range k.Array.GetItems() {
			out[i] = FromData(item, s.GetValueSchema())
		}
		return out
	case *pb.Data_Map:
		out := make([]MapEntry, len(k.Map.GetEntries()))
		for i, e := range k.Map.GetEntries() {
			out[i] = MapEntry{FromData(e.GetKey(), s.GetKeySchema()), FromData(e.GetValue(), s.GetValueSchema())}
		}
		return out
	case *pb.Data_Struct:
		values := k.Struct.GetFields()
		if s.GetType() == pb.SchemaType_SCHEMA_TYPE_STRUCT {
			out := map[string]any{}
			for i, f := range s.GetFields() {
				if i < len(values) {
					out[f.GetName()] = FromData(values[i], f.GetSchema())
				}
			}
			return out
		}
		out := make([]any, len(values))
		for i, v := range values {
			out[i] = FromData(v, nil)
		}
		return out
	}
	return nil
}
