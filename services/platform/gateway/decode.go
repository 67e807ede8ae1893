package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// Unmarshal decodes a JSON request body into m as the REST API does: protojson
// rules (snake_case or lowerCamelCase names, unknown fields rejected), an
// empty body read as {}, and m's `update_mask` filled from the body's keys
// (see the package documentation). Any error is an *errs.Error of kind
// Invalid whose Param names the offending parameter Stripe-style.
func Unmarshal(data []byte, m proto.Message) error {
	if err := unmarshal(data, m); err != nil {
		return err
	}
	return nil
}

func unmarshal(data []byte, m proto.Message) *errs.Error {
	switch body := trimJSONSpace(data); {
	case len(body) == 0:
		data = []byte("{}")
	case body[0] != '{':
		return errs.Param("", "invalid_json", "Invalid JSON body: the body must be a JSON object.")
	}
	if !fastDecode(data, m.ProtoReflect()) {
		proto.Reset(m) // the fast path may have filled part of it
		if err := slowDecode(data, m); err != nil {
			return err
		}
	}
	fillUpdateMask(m.ProtoReflect(), data)
	return nil
}

// slowDecode is the way of every body fastDecode declines: the API's own
// rules protojson does not have (checkStrict), then protojson.
func slowDecode(data []byte, m proto.Message) *errs.Error {
	md := m.ProtoReflect().Descriptor()
	if err := checkStrict(md, data); err != nil {
		return err
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(data, m); err != nil {
		return decodeError(md, data, err)
	}
	return nil
}

// readBody reads a whole request body.
func readBody(r io.Reader) ([]byte, *errs.Error) {
	if r == nil {
		return nil, nil
	}
	data, err := io.ReadAll(r)
	if err == nil {
		return data, nil
	}
	if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, &errs.Error{Kind: errs.Invalid, Code: codeRequestTooLarge,
			Message: fmt.Sprintf("The request body is larger than the limit of %d bytes.", tooLarge.Limit), Err: err}
	}
	return nil, &errs.Error{Kind: errs.Invalid, Code: "body_unreadable",
		Message: "The request body could not be read.", Err: fmt.Errorf("read request body: %w", err)}
}

// codeRequestTooLarge is the error code of an over-long body; the error
// handler answers it with 413 whatever its kind.
const codeRequestTooLarge = "request_too_large"

func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for n := len(b); n > 0 && (b[n-1] == ' ' || b[n-1] == '\t' || b[n-1] == '\n' || b[n-1] == '\r'); n = len(b) {
		b = b[:n-1]
	}
	return b
}

// decodeError turns a protojson error into an *errs.Error. protojson's errors
// are text only ("proto: (line 1:12): unknown field \"foo\""; the space after
// "proto:" is sometimes U+00A0, on purpose), so the text is parsed for its
// position and kind, and the position is mapped back to a parameter path
// through the JSON itself. Whatever cannot be parsed becomes a plain
// parameter_invalid about the body.
func decodeError(md protoreflect.MessageDescriptor, data []byte, err error) *errs.Error {
	if !utf8.Valid(data) {
		return &errs.Error{Kind: errs.Invalid, Code: "invalid_json", Message: "Invalid JSON body: it is not valid UTF-8.", Err: err}
	}
	if syntaxErr := json.Unmarshal(data, new(json.RawMessage)); syntaxErr != nil {
		// protojson reads as it decodes, so its text may be about a field
		// before the syntax error; encoding/json's is about the syntax.
		return &errs.Error{Kind: errs.Invalid, Code: "invalid_json", Message: syntaxMessage(data, syntaxErr), Err: err}
	}
	line, col, detail, ok := parsePosition(err.Error())
	if !ok {
		return &errs.Error{Kind: errs.Invalid, Code: "parameter_invalid", Message: "Invalid JSON body: " + detail + ".", Err: err}
	}
	segs, found := jsonPathAt(data, byteOffset(data, line, col))
	p := describePath(md, segs)
	e := &errs.Error{Kind: errs.Invalid, Param: p.param, Err: err}
	switch {
	case !found || p.param == "":
		e.Code, e.Message = "parameter_invalid", "Invalid JSON body: "+detail+"."
	case strings.HasPrefix(detail, "unknown field "):
		e.Code, e.Message = "parameter_unknown", "Received unknown parameter: "+p.param+"."
	case strings.HasPrefix(detail, "duplicate "):
		e.Code, e.Message = "parameter_duplicate", "Received parameter "+p.param+" more than once."
	case p.expected() != "":
		e.Code, e.Message = "parameter_invalid_type", "Invalid value for "+p.param+": expected "+p.expected()+"."
	default:
		e.Code, e.Message = "parameter_invalid", "Invalid value for "+p.param+": "+detail+"."
	}
	return e
}

// syntaxMessage describes an encoding/json syntax error with its position.
func syntaxMessage(data []byte, err error) string {
	se, ok := errors.AsType[*json.SyntaxError](err)
	if !ok {
		return "Invalid JSON body: " + err.Error() + "."
	}
	before := data[:min(int(se.Offset), len(data))]
	line := bytes.Count(before, []byte("\n")) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
	return fmt.Sprintf("Invalid JSON body: %s (line %d, column %d).", err, line, col)
}

// invalidBody is the error for a body that some other decoder refused.
func invalidBody(err error) *errs.Error {
	_, _, detail, _ := parsePosition(err.Error())
	return &errs.Error{Kind: errs.Invalid, Code: "parameter_invalid", Message: "Invalid JSON body: " + detail + ".", Err: err}
}

// fillUpdateMask sets m's `update_mask` (a google.protobuf.FieldMask) to the
// fields named by the top-level keys of the body, in field-number order,
// unless the body set the mask itself.
func fillUpdateMask(m protoreflect.Message, data []byte) {
	maskFD := m.Descriptor().Fields().ByName("update_mask")
	if maskFD == nil || maskFD.Cardinality() == protoreflect.Repeated || maskFD.Message() == nil ||
		maskFD.Message().FullName() != "google.protobuf.FieldMask" || m.Has(maskFD) {
		return
	}
	mask := m.NewField(maskFD).Message()
	paths := mask.Mutable(mask.Descriptor().Fields().ByNumber(1)).List()
	for _, p := range bodyPaths(m.Descriptor(), data, "", maskFD) {
		paths.Append(protoreflect.ValueOfString(p))
	}
	m.Set(maskFD, protoreflect.ValueOfMessage(mask))
}

// bodyPaths lists the field paths a JSON object sets, in field-number order.
// It descends into nested messages given as objects (so that
// {"branding":{"accent_color":"#000000"}} changes only the accent colour, as
// Stripe merges nested hashes), but not into maps, lists or well-known types,
// which are replaced whole.
func bodyPaths(md protoreflect.MessageDescriptor, data []byte, prefix string, skip protoreflect.FieldDescriptor) []string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil // cannot happen: protojson accepted data
	}
	fds := make([]protoreflect.FieldDescriptor, 0, len(obj))
	raw := map[protoreflect.FieldDescriptor]json.RawMessage{}
	for key, v := range obj {
		if fd := lookupField(md, key); fd != nil && fd != skip && raw[fd] == nil {
			fds = append(fds, fd)
			raw[fd] = v
		}
	}
	slices.SortFunc(fds, func(a, b protoreflect.FieldDescriptor) int { return int(a.Number()) - int(b.Number()) })
	var paths []string
	for _, fd := range fds {
		path := prefix + string(fd.Name())
		v := bytes.TrimSpace(raw[fd])
		nested := fd.Message() != nil && !fd.IsList() && !fd.IsMap() &&
			!strings.HasPrefix(string(fd.Message().FullName()), "google.protobuf.") && len(v) > 2 && v[0] == '{'
		if sub := []string(nil); nested {
			if sub = bodyPaths(fd.Message(), v, path+".", nil); len(sub) > 0 {
				paths = append(paths, sub...)
				continue
			}
		}
		paths = append(paths, path)
	}
	return paths
}

// lookupField finds a field by proto name or JSON (lowerCamelCase) name, as
// protojson does.
func lookupField(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByName(protoreflect.Name(name)); fd != nil {
		return fd
	}
	return md.Fields().ByJSONName(name)
}
