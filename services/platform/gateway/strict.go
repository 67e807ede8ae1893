package gateway

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// checkStrict refuses what protojson accepts but the API does not, naming the
// parameter:
//
//   - an integer given as anything but a plain JSON integer: a string
//     ("100"), a fraction (10.0) or an exponent (1e3). DESIGN says amounts are
//     JSON numbers, and a client sending "100" has a bug that should show now,
//     not when some other decoder reads the same body differently;
//   - a string holding a lone UTF-16 surrogate escape ("\ud800"), which is no
//     character: protojson refuses it with a bare "unexpected EOF" that has
//     no position, so its error could not name the field.
//
// The fast decoder declines all of these (see fastDecode), so both decoders
// give the same answer. checkStrict returns nil for anything else, malformed
// JSON included: protojson's own error then describes it.
func checkStrict(md protoreflect.MessageDescriptor, data []byte) *errs.Error {
	return strictObject(data, "", func(key string, v json.RawMessage, param string) *errs.Error {
		fd := lookupField(md, key)
		if fd == nil {
			return nil // unknown: protojson says so
		}
		return strictField(fd, v, joinParam(param, string(fd.Name())))
	})
}

// strictObject calls each with every key and raw value of the JSON object
// raw (whose parameter path is param), in order, and checks the keys
// themselves for lone surrogates. A key has no parameter of its own, so its
// error names the object.
func strictObject(raw []byte, param string, each func(key string, v json.RawMessage, param string) *errs.Error) *errs.Error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		start := skipSeparators(raw, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		if hasLoneSurrogate(raw[start:dec.InputOffset()]) {
			return loneSurrogate(param)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		if err := each(key, v, param); err != nil {
			return err
		}
	}
	return nil
}

// strictField checks the value of field fd, whose parameter path is param.
func strictField(fd protoreflect.FieldDescriptor, v json.RawMessage, param string) *errs.Error {
	switch {
	case string(v) == "null":
		return nil
	case fd.IsList():
		dec := json.NewDecoder(bytes.NewReader(v))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil
		}
		for i := 0; dec.More(); i++ {
			var elem json.RawMessage
			if err := dec.Decode(&elem); err != nil {
				return nil
			}
			if err := strictValue(fd, elem, param+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case fd.IsMap():
		return strictObject(v, param, func(key string, v json.RawMessage, param string) *errs.Error {
			return strictValue(fd.MapValue(), v, param+"["+key+"]")
		})
	}
	return strictValue(fd, v, param)
}

// strictValue checks one value of fd's type.
func strictValue(fd protoreflect.FieldDescriptor, v json.RawMessage, param string) *errs.Error {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strictInteger(v, param)
	case protoreflect.StringKind:
		if len(v) > 0 && v[0] == '"' && hasLoneSurrogate(v) {
			return loneSurrogate(param)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Int32Value", "google.protobuf.Int64Value",
			"google.protobuf.UInt32Value", "google.protobuf.UInt64Value":
			return strictInteger(v, param)
		}
		if md := plainMessage(fd); md != nil {
			return strictObject(v, param, func(key string, v json.RawMessage, param string) *errs.Error {
				sub := lookupField(md, key)
				if sub == nil {
					return nil
				}
				return strictField(sub, v, joinParam(param, string(sub.Name())))
			})
		}
	}
	return nil
}

func strictInteger(v json.RawMessage, param string) *errs.Error {
	if string(v) == "null" || plainInteger(v) {
		return nil
	}
	return errs.Param(param, "parameter_invalid_type", "Invalid value for %s: expected an integer.", param)
}

// plainInteger reports whether b is -?(0|[1-9][0-9]*), the only form of a
// JSON integer the API accepts (the fast decoder's rule too).
func plainInteger(b []byte) bool {
	b, _ = bytes.CutPrefix(b, []byte("-"))
	if len(b) == 0 || len(b) > 1 && b[0] == '0' {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// hasLoneSurrogate reports whether the JSON string token s (quotes
// included) has a \u escape of a UTF-16 surrogate that is not half of a
// high-low pair.
func hasLoneSurrogate(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if i >= len(s) || s[i] != 'u' {
			continue
		}
		r, ok := hexRune(s, i+1)
		if !ok || !utf16.IsSurrogate(r) {
			continue
		}
		i += 4
		if r >= 0xdc00 { // a low surrogate first
			return true
		}
		if i+2 >= len(s) || s[i+1] != '\\' || s[i+2] != 'u' {
			return true
		}
		r2, ok := hexRune(s, i+3)
		if !ok || r2 < 0xdc00 || r2 > 0xdfff {
			return true
		}
		i += 6
	}
	return false
}

// hexRune reads the 4 hex digits at s[i:].
func hexRune(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s[i:i+4]), 16, 32)
	return rune(v), err == nil
}

func loneSurrogate(param string) *errs.Error {
	if param == "" {
		return errs.Param("", "invalid_json", `Invalid JSON body: a name holds a lone UTF-16 surrogate escape (such as "\ud800"), which is not a character.`)
	}
	return errs.Param(param, "parameter_invalid",
		`Invalid value for %s: it holds a lone UTF-16 surrogate escape (such as "\ud800"), which is not a character.`, param)
}

// joinParam appends a field name to a Stripe-style parameter path.
func joinParam(prefix, name string) string {
	if prefix == "" {
		return name
	}
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteByte('[')
	b.WriteString(name)
	b.WriteByte(']')
	return b.String()
}
