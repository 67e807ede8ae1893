package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// BodyCodes are the error codes a foreign API shape gives a body that is
// not one JSON object, and one that is larger than its limit: surfaces keep
// the codes their own documentation names.
type BodyCodes struct{ Invalid, TooLarge string }

// DecodeForeignBody decodes one JSON object of a foreign API shape's own
// fields into v (a pointer to a struct; DecodeBody reads the API's proto
// messages), strictly: an unknown field, a value of the wrong
// JSON type, a body that is not exactly one object, or one over the limit
// of an http.MaxBytesReader is bad input whose error names the field.
// Numbers decoded into an interface value stay json.Number, exact.
func DecodeForeignBody(body io.Reader, v any, codes BodyCodes) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		if dec.More() {
			return errs.Param("", codes.Invalid, "The body must be one JSON object.")
		}
		return nil
	case errors.As(err, &tooLarge):
		return errs.Param("", codes.TooLarge, "The body is larger than the limit of %d bytes.", tooLarge.Limit)
	case errors.As(err, &typeErr):
		return errs.Param(typeErr.Field, "parameter_invalid_type", "%s must be %s.", nameOr(typeErr.Field, "The body"), jsonKind(typeErr.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errs.Param(field, "parameter_unknown", "Unknown field: %s.", field)
	case errors.Is(err, io.EOF):
		return errs.Param("", codes.Invalid, "The body must be one JSON object.")
	}
	return errs.Param("", codes.Invalid, "The body is not valid JSON: %s.", err)
}

func nameOr(field, whole string) string {
	if field == "" {
		return whole
	}
	return field
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a number"
}
