package gateway

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// protojson decoding was a tenth of a REST session creation's CPU, most of
// what REST costs over gRPC. fastDecode handles the plain shape of request
// bodies directly: objects, strings, integers, booleans, nested messages,
// lists and maps with string keys. It gives up (false) on anything else (null,
// floats, quoted or exponent numbers, enums, bytes, well-known types, real
// oneofs, a name given twice, invalid UTF-8, malformed JSON) and then the
// caller resets the message and uses protojson, so that every error, and
// every unusual input, is protojson's exactly as before. FuzzFastDecode
// checks that what it accepts, protojson decodes to the same message.
func fastDecode(data []byte, m protoreflect.Message) bool {
	d := fastDecoder{data: data}
	d.space()
	if !d.message(m) {
		return false
	}
	d.space()
	return d.pos == len(d.data)
}

type fastDecoder struct {
	data []byte
	pos  int
}

func (d *fastDecoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// consume skips spaces and then c, if it is next.
func (d *fastDecoder) consume(c byte) bool {
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func (d *fastDecoder) peek() byte {
	d.space()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// object reads a JSON object, calling each after every key and its colon;
// each reads the value.
func (d *fastDecoder) object(each func(key string) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		key, ok := d.string()
		if !ok || !d.consume(':') || !each(key) {
			return false
		}
		if d.consume('}') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// message decodes an object into m.
func (d *fastDecoder) message(m protoreflect.Message) bool {
	fields := m.Descriptor().Fields()
	var seen []protoreflect.FieldNumber
	return d.object(func(key string) bool {
		fd := fields.ByJSONName(key)
		if fd == nil {
			fd = fields.ByTextName(key)
		}
		if fd == nil || (fd.ContainingOneof() != nil && !fd.ContainingOneof().IsSynthetic()) || slices.Contains(seen, fd.Number()) {
			return false
		}
		seen = append(seen, fd.Number())
		return d.field(m, fd)
	})
}

func (d *fastDecoder) field(m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	switch {
	case fd.IsMap():
		return d.mapField(m.Mutable(fd).Map(), fd)
	case fd.IsList():
		if !d.consume('[') {
			return false
		}
		list := m.Mutable(fd).List()
		if d.consume(']') {
			return true
		}
		for {
			if fd.Kind() == protoreflect.MessageKind {
				elem := list.NewElement()
				if !d.messageValue(elem.Message(), fd) {
					return false
				}
				list.Append(elem)
			} else {
				v, ok := d.scalar(fd)
				if !ok {
					return false
				}
				list.Append(v)
			}
			if d.consume(']') {
				return true
			}
			if !d.consume(',') {
				return false
			}
		}
	case fd.Kind() == protoreflect.MessageKind:
		return d.messageValue(m.Mutable(fd).Message(), fd)
	default:
		v, ok := d.scalar(fd)
		if ok {
			m.Set(fd, v)
		}
		return ok
	}
}

// messageValue decodes a nested message, except well-known types, whose JSON
// forms (timestamps as strings, wrappers as bare values, …) are protojson's.
func (d *fastDecoder) messageValue(m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	if fd.Message().ParentFile().Package() == "google.protobuf" {
		return false
	}
	return d.message(m)
}

func (d *fastDecoder) mapField(mp protoreflect.Map, fd protoreflect.FieldDescriptor) bool {
	if fd.MapKey().Kind() != protoreflect.StringKind || fd.MapValue().Kind() == protoreflect.MessageKind {
		return false
	}
	return d.object(func(key string) bool {
		mk := protoreflect.ValueOfString(key).MapKey()
		if mp.Has(mk) {
			return false
		}
		v, ok := d.scalar(fd.MapValue())
		if ok {
			mp.Set(mk, v)
		}
		return ok
	})
}

// scalar decodes a string, boolean or integer field's value.
func (d *fastDecoder) scalar(fd protoreflect.FieldDescriptor) (protoreflect.Value, bool) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		s, ok := d.string()
		return protoreflect.ValueOfString(s), ok
	case protoreflect.BoolKind:
		switch {
		case d.literal("true"):
			return protoreflect.ValueOfBool(true), true
		case d.literal("false"):
			return protoreflect.ValueOfBool(false), true
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if n, ok := d.integer(math.MinInt64, math.MaxInt64); ok {
			return protoreflect.ValueOfInt64(n), true
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if n, ok := d.integer(math.MinInt32, math.MaxInt32); ok {
			return protoreflect.ValueOfInt32(int32(n)), true
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if n, ok := d.integer(0, math.MaxUint32); ok {
			return protoreflect.ValueOfUint32(uint32(n)), true
		}
	}
	return protoreflect.Value{}, false
}

func (d *fastDecoder) literal(word string) bool {
	d.space()
	if len(d.data)-d.pos >= len(word) && string(d.data[d.pos:d.pos+len(word)]) == word {
		d.pos += len(word)
		return true
	}
	return false
}

// integer reads a plain JSON integer (no fraction or exponent) in [lo, hi].
func (d *fastDecoder) integer(lo, hi int64) (int64, bool) {
	d.space()
	start := d.pos
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	digits := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	n := d.pos - digits
	if n == 0 || n > 1 && d.data[digits] == '0' {
		return 0, false
	}
	if d.pos < len(d.data) {
		switch d.data[d.pos] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(d.data[start:d.pos]), 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

// string reads a JSON string, which must be valid UTF-8.
func (d *fastDecoder) string() (string, bool) {
	if !d.consume('"') {
		return "", false
	}
	start := d.pos
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			return string(s), utf8.Valid(s)
		case c == '\\':
			return d.escapedString(start)
		case c < 0x20:
			return "", false
		default:
			d.pos++
		}
	}
	return "", false
}

// escapedString finishes a string that has escapes, from its start.
func (d *fastDecoder) escapedString(start int) (string, bool) {
	out := append([]byte(nil), d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(out), utf8.Valid(out)
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			d.pos++
			continue
		}
		if d.pos+1 >= len(d.data) {
			return "", false
		}
		esc := d.data[d.pos+1]
		d.pos += 2
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				if d.pos+1 >= len(d.data) || d.data[d.pos] != '\\' || d.data[d.pos+1] != 'u' {
					return "", false
				}
				d.pos += 2
				r2, ok := d.hex4()
				if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
					return "", false
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (d *fastDecoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(d.data[d.pos:d.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	d.pos += 4
	return rune(v), true
}
