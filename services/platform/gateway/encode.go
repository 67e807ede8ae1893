package gateway

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Marshal encodes m as the API's JSON (see the package documentation). A nil
// message encodes as null.
func Marshal(m proto.Message) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(1024 + proto.Size(m)) // the binary size plus room for names and punctuation: one allocation for most objects
	if err := encodeRoot(&buf, m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeRoot(buf *bytes.Buffer, m proto.Message) error {
	if m == nil {
		buf.WriteString("null")
		return nil
	}
	rm := m.ProtoReflect()
	if !rm.IsValid() { // a typed nil, e.g. a response whose object is missing
		buf.WriteString("null")
		return nil
	}
	return encoder{buf}.message(rm)
}

// Range limits of google.protobuf.Timestamp and Duration, as protojson checks them.
const (
	minTimestampSeconds = -62135596800 // 0001-01-01T00:00:00Z
	maxTimestampSeconds = 253402300799 // 9999-12-31T23:59:59Z
	maxDurationSeconds  = 315576000000 // 10,000 years
)

// encoder writes one JSON document; all output goes through buf.
type encoder struct{ buf *bytes.Buffer }

// numberSpace is enough for any number, timestamp or duration as text.
const numberSpace = 40

// avail returns the empty tail of the buffer with room for n bytes, to
// append to without allocating.
func (e encoder) avail(n int) []byte {
	e.buf.Grow(n)
	return e.buf.AvailableBuffer()
}

func (e encoder) message(m protoreflect.Message) error {
	md := m.Descriptor()
	if md.FullName().Parent() == "google.protobuf" {
		if done, err := e.wellKnown(m); done {
			return err
		}
	}
	e.buf.WriteByte('{')
	if err := e.fields(m, true); err != nil {
		return err
	}
	e.buf.WriteByte('}')
	return nil
}

// fields writes the fields of m as object members, in declaration order.
func (e encoder) fields(m protoreflect.Message, first bool) error {
	fds := m.Descriptor().Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		if !first {
			e.buf.WriteByte(',')
		}
		first = false
		e.buf.WriteByte('"')
		e.buf.WriteString(string(fd.Name())) // proto names are [A-Za-z0-9_]: no escaping
		e.buf.WriteString(`":`)
		if err := e.field(m, fd); err != nil {
			return err
		}
	}
	return nil
}

func (e encoder) field(m protoreflect.Message, fd protoreflect.FieldDescriptor) error {
	switch {
	case fd.IsList():
		return e.list(fd, m.Get(fd).List())
	case fd.IsMap():
		return e.mapValue(fd, m.Get(fd).Map())
	case fd.HasPresence() && !m.Has(fd):
		e.buf.WriteString("null")
		return nil
	}
	return e.singular(fd, m.Get(fd))
}

func (e encoder) list(fd protoreflect.FieldDescriptor, l protoreflect.List) error {
	e.buf.WriteByte('[')
	for i := range l.Len() {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		if err := e.singular(fd, l.Get(i)); err != nil {
			return err
		}
	}
	e.buf.WriteByte(']')
	return nil
}

func (e encoder) mapValue(fd protoreflect.FieldDescriptor, mp protoreflect.Map) error {
	type entry struct {
		k protoreflect.MapKey
		v protoreflect.Value
	}
	entries := make([]entry, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		entries = append(entries, entry{k, v}) // keeping v saves a lookup per key
		return true
	})
	cmp := compareMapKeys(fd.MapKey().Kind())
	slices.SortFunc(entries, func(a, b entry) int { return cmp(a.k, b.k) })
	e.buf.WriteByte('{')
	for i, en := range entries {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		if fd.MapKey().Kind() == protoreflect.StringKind {
			writeString(e.buf, en.k.String())
		} else {
			e.buf.WriteByte('"')
			e.buf.WriteString(en.k.String()) // numbers and booleans: no escaping
			e.buf.WriteByte('"')
		}
		e.buf.WriteByte(':')
		if err := e.singular(fd.MapValue(), en.v); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

// compareMapKeys orders map keys by value: numerically for numbers, false
// before true, byte-wise for strings.
func compareMapKeys(kind protoreflect.Kind) func(a, b protoreflect.MapKey) int {
	switch kind {
	case protoreflect.StringKind:
		return func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) }
	case protoreflect.BoolKind:
		return func(a, b protoreflect.MapKey) int {
			switch {
			case a.Bool() == b.Bool():
				return 0
			case b.Bool():
				return -1
			}
			return 1
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return func(a, b protoreflect.MapKey) int { return cmpOrdered(a.Uint(), b.Uint()) }
	}
	return func(a, b protoreflect.MapKey) int { return cmpOrdered(a.Int(), b.Int()) }
}

func cmpOrdered[T int64 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// singular writes one value of fd's type (an element, for lists and maps).
func (e encoder) singular(fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if v.Bool() {
			e.buf.WriteString("true")
		} else {
			e.buf.WriteString("false")
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		e.buf.Write(strconv.AppendInt(e.avail(numberSpace), v.Int(), 10))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		e.buf.Write(strconv.AppendUint(e.avail(numberSpace), v.Uint(), 10))
	case protoreflect.FloatKind:
		e.float(v.Float(), 32)
	case protoreflect.DoubleKind:
		e.float(v.Float(), 64)
	case protoreflect.StringKind:
		writeString(e.buf, v.String())
	case protoreflect.BytesKind:
		e.buf.WriteByte('"')
		e.buf.Write(base64.StdEncoding.AppendEncode(e.avail(base64.StdEncoding.EncodedLen(len(v.Bytes()))), v.Bytes()))
		e.buf.WriteByte('"')
	case protoreflect.EnumKind:
		e.enum(fd.Enum(), v.Enum())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return e.message(v.Message())
	default:
		return fmt.Errorf("gateway: field %s has unsupported kind %v", fd.FullName(), fd.Kind())
	}
	return nil
}

// float writes f as encoding/json does; NaN and the infinities, which JSON
// lacks, are written as the strings protojson uses.
func (e encoder) float(f float64, bits int) {
	switch {
	case math.IsNaN(f):
		e.buf.WriteString(`"NaN"`)
		return
	case math.IsInf(f, 1):
		e.buf.WriteString(`"Infinity"`)
		return
	case math.IsInf(f, -1):
		e.buf.WriteString(`"-Infinity"`)
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b := strconv.AppendFloat(e.avail(numberSpace), f, format, -1, bits)
	if format == 'e' { // 1e-07 → 1e-7, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	e.buf.Write(b)
}

// enum writes the value's name in lower case without the enum-type prefix
// (PAYMENT_STATUS_REQUIRES_ACTION of PaymentStatus → "requires_action"), or
// the number for a value the schema does not know. NullValue is null.
func (e encoder) enum(ed protoreflect.EnumDescriptor, n protoreflect.EnumNumber) {
	if ed.FullName() == "google.protobuf.NullValue" {
		e.buf.WriteString("null")
		return
	}
	vd := ed.Values().ByNumber(n)
	if vd == nil {
		e.buf.Write(strconv.AppendInt(e.avail(numberSpace), int64(n), 10))
		return
	}
	name := string(vd.Name())
	name = name[enumPrefixLen(string(ed.Name()), name):]
	b := append(e.avail(len(name)+2), '"')
	for i := range len(name) { // identifiers are ASCII
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	e.buf.Write(append(b, '"'))
}

// enumPrefixLen returns the length of the UPPER_SNAKE_CASE form of typeName
// plus "_" when value starts with it (the buf lint convention), else 0. It does
// not allocate: it compares while converting.
func enumPrefixLen(typeName, value string) int {
	j := 0
	match := func(c byte) bool {
		if j < len(value) && value[j] == c {
			j++
			return true
		}
		return false
	}
	for i := range len(typeName) {
		c := typeName[i]
		if isUpper(c) && i > 0 {
			prev := typeName[i-1]
			nextLower := i+1 < len(typeName) && isLower(typeName[i+1])
			if isLower(prev) || isDigit(prev) || (isUpper(prev) && nextLower) {
				if !match('_') {
					return 0
				}
			}
		}
		if isLower(c) {
			c -= 'a' - 'A'
		}
		if !match(c) {
			return 0
		}
	}
	if !match('_') || j == len(value) {
		return 0
	}
	return j
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// wellKnown writes the google.protobuf types that have a JSON form of their
// own. It reports false for the others (Empty, descriptor types, …), which
// are written as ordinary messages.
func (e encoder) wellKnown(m protoreflect.Message) (bool, error) {
	fds := m.Descriptor().Fields()
	switch m.Descriptor().FullName() {
	case "google.protobuf.Timestamp":
		return true, e.timestamp(m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int())
	case "google.protobuf.Duration":
		return true, e.duration(m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int())
	case "google.protobuf.BoolValue", "google.protobuf.Int32Value", "google.protobuf.Int64Value",
		"google.protobuf.UInt32Value", "google.protobuf.UInt64Value", "google.protobuf.FloatValue",
		"google.protobuf.DoubleValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		fd := fds.ByNumber(1)
		return true, e.singular(fd, m.Get(fd))
	case "google.protobuf.FieldMask":
		paths := m.Get(fds.ByNumber(1)).List()
		e.buf.WriteByte('"')
		for i := range paths.Len() {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			writeStringContent(e.buf, paths.Get(i).String())
		}
		e.buf.WriteByte('"')
		return true, nil
	case "google.protobuf.Struct":
		fd := fds.ByNumber(1)
		return true, e.mapValue(fd, m.Get(fd).Map())
	case "google.protobuf.ListValue":
		fd := fds.ByNumber(1)
		return true, e.list(fd, m.Get(fd).List())
	case "google.protobuf.Value":
		fd := m.WhichOneof(m.Descriptor().Oneofs().Get(0))
		if fd == nil {
			e.buf.WriteString("null")
			return true, nil
		}
		return true, e.singular(fd, m.Get(fd))
	case "google.protobuf.Any":
		return true, e.any(m)
	}
	return false, nil
}

func (e encoder) timestamp(secs, nanos int64) error {
	if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		return fmt.Errorf("gateway: google.protobuf.Timestamp out of range (%d s, %d ns)", secs, nanos)
	}
	b := append(e.avail(numberSpace), '"')
	b = time.Unix(secs, 0).UTC().AppendFormat(b, time.RFC3339) // second precision: the API's resolution
	e.buf.Write(append(b, '"'))
	return nil
}

// duration writes protojson's form: seconds with 0, 3, 6 or 9 decimals and "s".
func (e encoder) duration(secs, nanos int64) error {
	if secs < -maxDurationSeconds || secs > maxDurationSeconds || nanos <= -1e9 || nanos >= 1e9 ||
		(secs > 0 && nanos < 0) || (secs < 0 && nanos > 0) {
		return fmt.Errorf("gateway: google.protobuf.Duration out of range (%d s, %d ns)", secs, nanos)
	}
	b := append(e.avail(numberSpace), '"')
	if secs < 0 || nanos < 0 {
		b = append(b, '-')
		secs, nanos = -secs, -nanos
	}
	b = strconv.AppendInt(b, secs, 10)
	if nanos != 0 {
		frac := strconv.AppendInt([]byte{'.'}, 1e9+nanos, 10) // ".1xxxxxxxxx"
		frac = append(frac[:1], frac[2:]...)
		for len(frac) > 4 && string(frac[len(frac)-3:]) == "000" {
			frac = frac[:len(frac)-3]
		}
		b = append(b, frac...)
	}
	e.buf.Write(append(b, 's', '"'))
	return nil
}

// any writes {"@type": url, …fields} (or "value" for a well-known type), as
// protojson does, resolving the type in the global registry.
func (e encoder) any(m protoreflect.Message) error {
	fds := m.Descriptor().Fields()
	url := m.Get(fds.ByNumber(1)).String()
	value := m.Get(fds.ByNumber(2)).Bytes()
	if url == "" && len(value) == 0 {
		e.buf.WriteString("{}")
		return nil
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(url)
	if err != nil {
		return fmt.Errorf("gateway: resolve google.protobuf.Any %q: %w", url, err)
	}
	inner := mt.New()
	if err := (proto.UnmarshalOptions{}).Unmarshal(value, inner.Interface()); err != nil {
		return fmt.Errorf("gateway: unmarshal google.protobuf.Any %q: %w", url, err)
	}
	e.buf.WriteString(`{"@type":`)
	writeString(e.buf, url)
	if hasOwnJSONForm(inner.Descriptor().FullName()) {
		e.buf.WriteString(`,"value":`)
		if err := e.message(inner); err != nil {
			return err
		}
	} else if err := e.fields(inner, false); err != nil {
		return err
	}
	e.buf.WriteByte('}')
	return nil
}

// hasOwnJSONForm reports whether a google.protobuf message is written in an
// Any as {"@type": …, "value": …}, as protojson does.
func hasOwnJSONForm(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.Any", "google.protobuf.Timestamp", "google.protobuf.Duration",
		"google.protobuf.FieldMask", "google.protobuf.Struct", "google.protobuf.ListValue",
		"google.protobuf.Value", "google.protobuf.Empty", "google.protobuf.BoolValue",
		"google.protobuf.Int32Value", "google.protobuf.Int64Value", "google.protobuf.UInt32Value",
		"google.protobuf.UInt64Value", "google.protobuf.FloatValue", "google.protobuf.DoubleValue",
		"google.protobuf.StringValue", "google.protobuf.BytesValue":
		return true
	}
	return false
}

// jsonSafe marks the ASCII bytes that appear unescaped in JSON strings:
// encoding/json's HTML-safe set (no control characters, `"`, `\`, `<`, `>`, `&`).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// writeString writes s as a JSON string exactly as encoding/json does:
// HTML-safe, U+2028 and U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func writeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	writeStringContent(buf, s)
	buf.WriteByte('"')
}

func writeStringContent(buf *bytes.Buffer, s string) {
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\b':
				buf.WriteString(`\b`)
			case '\f':
				buf.WriteString(`\f`)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hexDigits[c>>4])
				buf.WriteByte(hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString(s[start:i])
			buf.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' { // valid JSON, but not valid JavaScript
			buf.WriteString(s[start:i])
			buf.WriteString(`\u202`)
			buf.WriteByte(hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
}
