package gateway

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// parsePosition splits a protojson error text "proto: [syntax error ](line
// L:C): detail" into its position and detail. ok is false when the text has
// no position; detail is then the text without the "proto:" prefix.
func parsePosition(msg string) (line, col int, detail string, ok bool) {
	i := strings.Index(msg, "(line ")
	if i < 0 {
		return 0, 0, stripProtoPrefix(msg), false
	}
	pos, detail, found := strings.Cut(msg[i+len("(line "):], "): ")
	l, c, colon := strings.Cut(pos, ":")
	line, err1 := strconv.Atoi(l)
	col, err2 := strconv.Atoi(c)
	if !found || !colon || err1 != nil || err2 != nil {
		return 0, 0, stripProtoPrefix(msg), false
	}
	return line, col, detail, true
}

func stripProtoPrefix(msg string) string {
	if rest, ok := strings.CutPrefix(msg, "proto:"); ok {
		return strings.TrimLeft(rest, " \u00a0")
	}
	return msg
}

// byteOffset converts protojson's 1-based line and column (counted in runes)
// into a byte offset in data, or -1.
func byteOffset(data []byte, line, col int) int {
	off := 0
	for range line - 1 {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for range col - 1 {
		if off >= len(data) {
			return -1
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off
}

// pathSeg is one step into a JSON document: an object key, or an array
// index when index ≥ 0.
type pathSeg struct {
	key   string
	index int
}

// jsonPathAt returns the path to the object key or value that starts at byte
// offset off of the valid JSON document data.
func jsonPathAt(data []byte, off int) ([]pathSeg, bool) {
	type frame struct {
		array   bool
		wantKey bool
		seg     pathSeg
	}
	path := func(stack []frame) []pathSeg {
		segs := make([]pathSeg, len(stack))
		for i, f := range stack {
			segs[i] = f.seg
		}
		return segs
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []frame
	for {
		start := skipSeparators(data, int(dec.InputOffset()))
		if start > off {
			return nil, false
		}
		tok, err := dec.Token()
		if err != nil { // io.EOF included: off is past the end
			return nil, false
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && !stack[len(stack)-1].array {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		if top != nil && !top.array && top.wantKey { // an object key
			top.seg = pathSeg{key: tok.(string), index: -1}
			top.wantKey = false
			if start == off {
				return path(stack), true
			}
			continue
		}
		if top != nil && top.array {
			top.seg.index++
		}
		if start == off {
			return path(stack), true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{array: true, seg: pathSeg{index: -1}})
		default:
			if top != nil && !top.array {
				top.wantKey = true
			}
		}
	}
}

func skipSeparators(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r', ',', ':':
			i++
		default:
			return i
		}
	}
	return i
}

// paramPath is a JSON path resolved against the request message.
type paramPath struct {
	param string                       // Stripe style: line_items[0][unit_amount]
	field protoreflect.FieldDescriptor // the field the value at the path is for; nil if unknown
	whole bool                         // the whole field (a list or map) rather than one element
}

// describePath renders segs as a parameter name, turning lowerCamelCase field
// names into proto names, and finds the field the value at segs is for.
func describePath(md protoreflect.MessageDescriptor, segs []pathSeg) paramPath {
	var (
		b     strings.Builder
		fd    protoreflect.FieldDescriptor
		whole bool
		cur   = md // message whose fields the next key names; nil for free-form keys
	)
	for i, s := range segs {
		name := s.key
		switch {
		case s.index >= 0:
			name = strconv.Itoa(s.index)
			if fd != nil && whole && fd.IsList() {
				whole, cur = false, plainMessage(fd)
			} else {
				fd, cur = nil, nil
			}
		case fd != nil && whole && fd.IsMap():
			fd, cur = fd.MapValue(), plainMessage(fd.MapValue())
		case cur != nil:
			fd = lookupField(cur, s.key)
			if fd != nil {
				name, whole = string(fd.Name()), true
				cur = nil
				if !fd.IsList() && !fd.IsMap() {
					cur = plainMessage(fd)
				}
			}
		default:
			fd = nil
		}
		if i == 0 {
			b.WriteString(name)
		} else {
			b.WriteByte('[')
			b.WriteString(name)
			b.WriteByte(']')
		}
	}
	return paramPath{param: b.String(), field: fd, whole: whole}
}

// plainMessage is fd's message type if its JSON form is an object of its
// fields, else nil.
func plainMessage(fd protoreflect.FieldDescriptor) protoreflect.MessageDescriptor {
	if md := fd.Message(); md != nil && !hasOwnJSONForm(md.FullName()) {
		return md
	}
	return nil
}

// expected describes the JSON value the path's field takes, or "".
func (p paramPath) expected() string {
	switch {
	case p.field == nil:
		return ""
	case p.whole && p.field.IsList():
		return "an array"
	case p.whole && p.field.IsMap():
		return "an object"
	}
	return expectedKind(p.field)
}

// expectedKind describes one value of fd's type in a JSON body.
func expectedKind(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return "a boolean"
	case protoreflect.StringKind:
		return "a string"
	case protoreflect.BytesKind:
		return "a base64 string"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "a number"
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		names := make([]string, vals.Len())
		for i := range names {
			names[i] = string(vals.Get(i).Name())
		}
		return "one of " + strings.Join(names, ", ")
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if s, ok := wellKnownExpectation[fd.Message().FullName()]; ok {
			return s
		}
		return "an object"
	}
	return "an integer"
}

// wellKnownExpectation describes the JSON form of the well-known types that
// are not written as objects of their fields.
var wellKnownExpectation = map[protoreflect.FullName]string{
	"google.protobuf.Timestamp":   `an RFC 3339 timestamp such as "2024-01-16T10:00:00Z"`,
	"google.protobuf.Duration":    `a duration such as "3600s"`,
	"google.protobuf.FieldMask":   "a comma-separated list of field names",
	"google.protobuf.Struct":      "an object",
	"google.protobuf.ListValue":   "an array",
	"google.protobuf.Value":       "a JSON value",
	"google.protobuf.Any":         `an object with "@type"`,
	"google.protobuf.BoolValue":   "a boolean",
	"google.protobuf.Int32Value":  "an integer",
	"google.protobuf.Int64Value":  "an integer",
	"google.protobuf.UInt32Value": "an integer",
	"google.protobuf.UInt64Value": "an integer",
	"google.protobuf.FloatValue":  "a number",
	"google.protobuf.DoubleValue": "a number",
	"google.protobuf.StringValue": "a string",
	"google.protobuf.BytesValue":  "a base64 string",
}
