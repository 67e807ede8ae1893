package gateway

import (
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// QueryParser is the runtime.QueryParameterParser of the API. It reads
// Stripe-style names: `created[gte]=…` (or `created.gte`) for a field of a
// message field, `metadata[key]=v` for a map entry, `types[]=a&types[]=b` (or
// `types=a&types=b`) for a list. Field names may be snake_case or
// lowerCamelCase. Integers are plain decimal integers, as in a body (not
// "+5", "05" or "1e1"). Timestamps are Unix seconds or RFC 3339; enums their
// lower-case name (as output), full name or number; `name=` with an empty
// value leaves a non-string field unset.
//
// No parameter is ignored: an unknown name, a field bound by the URL path, a
// repeated non-list parameter or a value of the wrong type is an error naming
// the parameter as the caller wrote it. Errors are reported for the
// alphabetically first bad parameter, so they are stable.
type QueryParser struct{}

var _ runtime.QueryParameterParser = QueryParser{}

// Parse sets the fields of msg named by values; filter lists the field paths
// bound by the URL path, which the query string may not set.
func (QueryParser) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	m := msg.ProtoReflect()
	for _, key := range slices.Sorted(maps.Keys(values)) {
		if err := setQueryParam(m, key, values[key], filter); err != nil {
			return &inputError{err}
		}
	}
	return nil
}

func setQueryParam(m protoreflect.Message, key string, vals []string, filter *utilities.DoubleArray) *errs.Error {
	segs, ok := splitParamName(key)
	if !ok {
		return errs.Param(key, "parameter_invalid", "Invalid parameter name: %s.", key)
	}
	unknown := func() *errs.Error {
		return errs.Param(key, "parameter_unknown", "Received unknown parameter: %s.", key)
	}
	var fieldPath []string
	for i, seg := range segs {
		fd := lookupField(m.Descriptor(), seg)
		if fd == nil {
			return unknown()
		}
		fieldPath = append(fieldPath, string(fd.Name()))
		if filter != nil && filter.HasCommonPrefix(fieldPath) {
			return unknown() // set by the URL path
		}
		rest := segs[i+1:]
		switch {
		case fd.IsMap():
			if len(rest) != 1 {
				return errs.Param(key, "parameter_invalid", "Give %s as %s[key]=value.", fd.Name(), fd.Name())
			}
			return setMapEntry(m, fd, key, rest[0], vals)
		case fd.IsList():
			if len(rest) > 1 || len(rest) == 1 && rest[0] != "" {
				return errs.Param(key, "parameter_invalid", "Give %s as %s[]=value, once per value.", fd.Name(), fd.Name())
			}
			return appendToList(m, fd, key, vals)
		case plainMessage(fd) != nil:
			if len(rest) == 0 {
				return errs.Param(key, "parameter_invalid", "%s is an object: give its fields as %s[field]=value.", key, key)
			}
			m = m.Mutable(fd).Message()
			continue
		case len(rest) != 0:
			return unknown()
		case len(vals) != 1:
			return errs.Param(key, "parameter_invalid", "Received %s %d times; give it once.", key, len(vals))
		case leavesUnset(fd, vals[0]):
			return nil
		}
		v, ok := parseQueryValue(fd, vals[0], func() protoreflect.Value { return m.NewField(fd) })
		if !ok {
			return invalidQueryValue(key, fd)
		}
		m.Set(fd, v)
		return nil
	}
	return nil
}

func setMapEntry(m protoreflect.Message, fd protoreflect.FieldDescriptor, key, mapKey string, vals []string) *errs.Error {
	if len(vals) != 1 {
		return errs.Param(key, "parameter_invalid", "Received %s %d times; give it once.", key, len(vals))
	}
	k, ok := parseScalar(fd.MapKey(), mapKey)
	if !ok {
		return errs.Param(key, "parameter_invalid_type", "Invalid key in %s: expected %s.", key, expectedKind(fd.MapKey()))
	}
	if leavesUnset(fd.MapValue(), vals[0]) {
		return nil
	}
	mp := m.Mutable(fd).Map()
	v, ok := parseQueryValue(fd.MapValue(), vals[0], mp.NewValue)
	if !ok {
		return invalidQueryValue(key, fd.MapValue())
	}
	mp.Set(k.MapKey(), v)
	return nil
}

func appendToList(m protoreflect.Message, fd protoreflect.FieldDescriptor, key string, vals []string) *errs.Error {
	if plainMessage(fd) != nil {
		return errs.Param(key, "parameter_invalid", "%s cannot be given in the query string.", key)
	}
	list := m.Mutable(fd).List()
	for _, s := range vals {
		if leavesUnset(fd, s) {
			continue
		}
		v, ok := parseQueryValue(fd, s, list.NewElement)
		if !ok {
			return invalidQueryValue(key, fd)
		}
		list.Append(v)
	}
	return nil
}

// leavesUnset reports whether s is an empty value for a field that has no
// empty text form (anything but strings and bytes): Stripe's `name=` unsets.
func leavesUnset(fd protoreflect.FieldDescriptor, s string) bool {
	return s == "" && fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind
}

func invalidQueryValue(key string, fd protoreflect.FieldDescriptor) *errs.Error {
	expected := expectedKind(fd)
	if fd.Message() != nil {
		switch fd.Message().FullName() {
		case "google.protobuf.Timestamp":
			expected = "a Unix timestamp (seconds) or an RFC 3339 time"
		case "google.protobuf.Duration":
			expected = "a duration such as 90s or 1h30m"
		}
	}
	return errs.Param(key, "parameter_invalid_type", "Invalid value for %s: expected %s.", key, expected)
}

// splitParamName splits `a.b[c][]` into a, b, c and "".
func splitParamName(key string) ([]string, bool) {
	base, rest := key, ""
	if i := strings.IndexByte(key, '['); i >= 0 {
		base, rest = key[:i], key[i:]
	}
	if base == "" || strings.IndexByte(base, ']') >= 0 {
		return nil, false
	}
	segs := strings.Split(base, ".")
	if slices.Contains(segs, "") {
		return nil, false
	}
	for rest != "" {
		end := strings.IndexByte(rest, ']')
		if rest[0] != '[' || end < 0 {
			return nil, false
		}
		segs = append(segs, rest[1:end])
		rest = rest[end+1:]
	}
	return segs, true
}

// parseQueryValue parses one value of fd's type; newValue makes the message
// to fill for message types.
func parseQueryValue(fd protoreflect.FieldDescriptor, s string, newValue func() protoreflect.Value) (protoreflect.Value, bool) {
	if fd.Message() == nil {
		return parseScalar(fd, s)
	}
	v := newValue()
	return v, fillFromText(v.Message(), s)
}

func parseScalar(fd protoreflect.FieldDescriptor, s string) (protoreflect.Value, bool) {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if !plainInteger([]byte(s)) { // as in a body: no "+5", "05" or "1e1"
			return protoreflect.Value{}, false
		}
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		return protoreflect.ValueOfBool(b), err == nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(s, 10, 32)
		return protoreflect.ValueOfInt32(int32(n)), err == nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(s, 10, 64)
		return protoreflect.ValueOfInt64(n), err == nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(s, 10, 32)
		return protoreflect.ValueOfUint32(uint32(n)), err == nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(s, 10, 64)
		return protoreflect.ValueOfUint64(n), err == nil
	case protoreflect.FloatKind:
		f, err := strconv.ParseFloat(s, 32)
		return protoreflect.ValueOfFloat32(float32(f)), err == nil
	case protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(s, 64)
		return protoreflect.ValueOfFloat64(f), err == nil
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(s), utf8.ValidString(s)
	case protoreflect.BytesKind:
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				return protoreflect.ValueOfBytes(b), true
			}
		}
	case protoreflect.EnumKind:
		return parseEnum(fd.Enum(), s)
	}
	return protoreflect.Value{}, false
}

// parseEnum accepts the output form (lower case, no type prefix), the full
// value name in any case, or the number of a known value.
func parseEnum(ed protoreflect.EnumDescriptor, s string) (protoreflect.Value, bool) {
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		if ed.Values().ByNumber(protoreflect.EnumNumber(n)) != nil {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), true
		}
		return protoreflect.Value{}, false
	}
	vals := ed.Values()
	for i := range vals.Len() {
		name := string(vals.Get(i).Name())
		if strings.EqualFold(s, name) || strings.EqualFold(s, name[enumPrefixLen(string(ed.Name()), name):]) {
			return protoreflect.ValueOfEnum(vals.Get(i).Number()), true
		}
	}
	return protoreflect.Value{}, false
}

// fillFromText sets a well-known message from its query-string form.
func fillFromText(m protoreflect.Message, s string) bool {
	fds := m.Descriptor().Fields()
	switch m.Descriptor().FullName() {
	case "google.protobuf.Timestamp":
		secs, nanos, ok := parseTimestamp(s)
		if ok {
			m.Set(fds.ByNumber(1), protoreflect.ValueOfInt64(secs))
			m.Set(fds.ByNumber(2), protoreflect.ValueOfInt32(nanos))
		}
		return ok
	case "google.protobuf.Duration":
		d, err := time.ParseDuration(s)
		if err != nil {
			return false
		}
		m.Set(fds.ByNumber(1), protoreflect.ValueOfInt64(int64(d/time.Second)))
		m.Set(fds.ByNumber(2), protoreflect.ValueOfInt32(int32(d%time.Second)))
		return true
	case "google.protobuf.FieldMask":
		paths := m.Mutable(fds.ByNumber(1)).List()
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				paths.Append(protoreflect.ValueOfString(p))
			}
		}
		return true
	case "google.protobuf.BoolValue", "google.protobuf.Int32Value", "google.protobuf.Int64Value",
		"google.protobuf.UInt32Value", "google.protobuf.UInt64Value", "google.protobuf.FloatValue",
		"google.protobuf.DoubleValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		v, ok := parseScalar(fds.ByNumber(1), s)
		if ok {
			m.Set(fds.ByNumber(1), v)
		}
		return ok
	}
	return false
}

// parseTimestamp reads Unix seconds or an RFC 3339 time. A space stands for
// the "+" of an offset, which form encoding turns into a space.
func parseTimestamp(s string) (secs int64, nanos int32, ok bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, 0, minTimestampSeconds <= n && n <= maxTimestampSeconds
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(s, " ", "+"))
	if err != nil {
		return 0, 0, false
	}
	secs = t.Unix()
	return secs, int32(t.Nanosecond()), minTimestampSeconds <= secs && secs <= maxTimestampSeconds
}
