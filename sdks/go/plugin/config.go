package plugin

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	pb "tributary.dev/sdks/go/gen/tributary/connector/v1"
)

// Config is a connector's config (string values, as in Kafka Connect) with the spec's defaults
// applied. The getters parse values the spec checks already accepted.
type Config map[string]string

// String returns the value of key, or def when it is absent.
func (c Config) String(key, def string) string {
	if v, ok := c[key]; ok {
		return v
	}
	return def
}

// Int parses an INT or DURATION_MS value; def when absent or empty.
func (c Config) Int(key string, def int64) (int64, error) {
	v := strings.TrimSpace(c[key])
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("config key %q must be an integer, got %q", key, c[key])
	}
	return n, nil
}

// Duration parses a DURATION_MS value; def when absent or empty.
func (c Config) Duration(key string, def time.Duration) (time.Duration, error) {
	if strings.TrimSpace(c[key]) == "" {
		return def, nil
	}
	n, err := c.Int(key, 0)
	return time.Duration(n) * time.Millisecond, err
}

// Bool parses a BOOLEAN value; def when absent or empty.
func (c Config) Bool(key string, def bool) bool {
	v := strings.TrimSpace(c[key])
	if v == "" {
		return def
	}
	return strings.EqualFold(v, "true")
}

// List splits a LIST value: comma-separated, entries trimmed, empty entries dropped.
func (c Config) List(key string) []string { return ParseList(c[key]) }

// ParseList splits a LIST value.
func ParseList(v string) []string {
	out := []string{}
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

var (
	intRe     = regexp.MustCompile(`^[+-]?\d+$`)
	decimalRe = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)
)

const maxSafe = 1<<53 - 1

func typeProblem(t pb.ConfigType, value string) string {
	v := strings.TrimSpace(value)
	switch t {
	case pb.ConfigType_CONFIG_TYPE_INT:
		if !intRe.MatchString(v) {
			return fmt.Sprintf("must be an integer, got %q", value)
		}
		if f, _ := strconv.ParseFloat(v, 64); math.Abs(f) > maxSafe {
			return fmt.Sprintf("is out of range: %q", value)
		}
	case pb.ConfigType_CONFIG_TYPE_DOUBLE:
		f, err := strconv.ParseFloat(v, 64)
		if !decimalRe.MatchString(v) || err != nil || math.IsInf(f, 0) {
			return fmt.Sprintf("must be a number, got %q", value)
		}
	case pb.ConfigType_CONFIG_TYPE_BOOLEAN:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Sprintf(`must be "true" or "false", got %q`, value)
		}
	case pb.ConfigType_CONFIG_TYPE_DURATION_MS:
		f, _ := strconv.ParseFloat(v, 64)
		if !intRe.MatchString(v) || f < 0 {
			return fmt.Sprintf("must be a duration in milliseconds (a non-negative integer), got %q", value)
		}
		if f > maxSafe {
			return fmt.Sprintf("is out of range: %q", value)
		}
	}
	return ""
}

// ValidateConfig runs the spec checks the worker runs too (src/plugins/config-spec.ts): one
// ConfigError per offending key; none when the config is valid. Unknown keys are not errors.
func ValidateConfig(keys []*pb.ConfigKey, config map[string]string) []*pb.ConfigError {
	var problems []*pb.ConfigError
	add := func(key, msg string) { problems = append(problems, &pb.ConfigError{Key: key, Message: msg}) }
	for _, k := range keys {
		value, present := config[k.GetName()]
		if !present {
			if k.GetRequired() && k.DefaultValue == nil {
				add(k.GetName(), "is required")
			}
			continue
		}
		if strings.TrimSpace(value) == "" && k.GetType() != pb.ConfigType_CONFIG_TYPE_LIST {
			switch {
			case k.GetRequired():
				add(k.GetName(), "is required and must not be empty")
			case k.GetType() != pb.ConfigType_CONFIG_TYPE_STRING && k.GetType() != pb.ConfigType_CONFIG_TYPE_UNSPECIFIED:
				msg := typeProblem(k.GetType(), value)
				if msg == "" {
					msg = "must not be empty"
				}
				add(k.GetName(), msg)
			}
			continue
		}
		if msg := typeProblem(k.GetType(), value); msg != "" {
			add(k.GetName(), msg)
			continue
		}
		if allowed := k.GetAllowedValues(); len(allowed) > 0 {
			entries := []string{value}
			if k.GetType() == pb.ConfigType_CONFIG_TYPE_LIST {
				entries = ParseList(value)
			}
			var bad []string
			for _, e := range entries {
				if !contains(allowed, e) {
					bad = append(bad, strconv.Quote(e))
				}
			}
			if len(bad) > 0 {
				quoted := make([]string, len(allowed))
				for i, a := range allowed {
					quoted[i] = strconv.Quote(a)
				}
				add(k.GetName(), fmt.Sprintf("%s is not one of %s", strings.Join(bad, ", "), strings.Join(quoted, ", ")))
			}
		}
	}
	return problems
}

// ApplyDefaults returns a copy of config with every absent key that has a default set to it.
func ApplyDefaults(keys []*pb.ConfigKey, config map[string]string) Config {
	out := Config{}
	for k, v := range config {
		out[k] = v
	}
	for _, k := range keys {
		if _, ok := out[k.GetName()]; !ok && k.DefaultValue != nil {
			out[k.GetName()] = k.GetDefaultValue()
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Key is a shorthand for declaring a ConfigKey.
func Key(name string, t pb.ConfigType, doc string) *pb.ConfigKey {
	return &pb.ConfigKey{Name: name, Type: t, Documentation: doc}
}

// Required marks k required and returns it.
func Required(k *pb.ConfigKey) *pb.ConfigKey { k.Required = true; return k }

// Default sets k's default value and returns it.
func Default(k *pb.ConfigKey, v string) *pb.ConfigKey { k.DefaultValue = &v; return k }
