package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
)

// JSON is the runtime.Marshaler for application/json: responses through
// [Marshal], request bodies through [Unmarshal]. Decoding errors wrap an
// *errs.Error (use errs.As); their text is meant for the error handler, not
// for people (see inputError).
type JSON struct{}

var _ runtime.Marshaler = JSON{}

// ContentType reports application/json for every value.
func (JSON) ContentType(any) string { return "application/json" }

// Marshal encodes v: proto messages (and slices of them) with [Marshal], any
// other value with encoding/json.
func (JSON) Marshal(v any) ([]byte, error) { return marshalValue(v) }

// Unmarshal decodes a request body into v, a proto message or a pointer to a
// field of one.
func (JSON) Unmarshal(data []byte, v any) error { return decodeValue(data, v) }

// NewDecoder returns a decoder that reads all of r, then decodes as Unmarshal
// does, and refuses a body that gives a parameter of the URL path another
// value than the path does (r then comes from withPathParams). A read that
// hits the HTTP layer's size cap (*http.MaxBytesError) fails with code
// `request_too_large`, which the error handler answers with 413.
func (JSON) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := readBody(r)
		if err != nil {
			return &inputError{err}
		}
		if err := decodeValue(data, v); err != nil {
			return err
		}
		if pb, ok := r.(*pathBody); ok {
			if m, ok := v.(proto.Message); ok {
				if err := checkPathParams(m, pb.params); err != nil {
					return &inputError{err}
				}
			}
		}
		return nil
	})
}

// NewEncoder returns an encoder that writes each value as Marshal does.
func (JSON) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := marshalValue(v)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("gateway: write JSON: %w", err)
		}
		return nil
	})
}

var protoMessageType = reflect.TypeFor[proto.Message]()

func marshalValue(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return []byte("null"), nil
	case proto.Message:
		return Marshal(v)
	}
	// A response_body naming a repeated message field hands over a slice.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.Type().Elem().Implements(protoMessageType) {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i := range rv.Len() {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeRoot(&buf, rv.Index(i).Interface().(proto.Message)); err != nil {
				return nil, err
			}
		}
		buf.WriteByte(']')
		return buf.Bytes(), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("gateway: marshal %T: %w", v, err)
	}
	return b, nil
}

func decodeValue(data []byte, v any) error {
	if m, ok := v.(proto.Message); ok {
		if err := unmarshal(data, m); err != nil {
			return &inputError{err}
		}
		return nil
	}
	// A body bound to one message field arrives as a pointer to that field.
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Kind() == reflect.Pointer &&
		rv.Elem().Type().Implements(protoMessageType) {
		if rv.Elem().IsNil() {
			rv.Elem().Set(reflect.New(rv.Elem().Type().Elem()))
		}
		return decodeValue(data, rv.Elem().Interface())
	}
	// Any other target (a body bound to a scalar field): as grpc-gateway's own
	// marshaler does it.
	if len(trimJSONSpace(data)) == 0 {
		return nil
	}
	if err := (&runtime.JSONPb{}).Unmarshal(data, v); err != nil {
		return &inputError{invalidBody(err)}
	}
	return nil
}
