package gateway

import (
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// A route such as POST /v1/checkouts/{site_id}/create decodes the body into
// the request message and then sets site_id from the path, so a body's
// "site_id":"other" would be overwritten without a word, and the caller would
// believe it had acted on "other". The body therefore may repeat a path
// parameter only with the path's value.

// pathBody is a request body that knows the route's path parameters, for
// the decoder (grpc-gateway hands decoders nothing but the body).
type pathBody struct {
	io.ReadCloser
	params map[string]string
}

// withPathParams is a grpc-gateway middleware giving the body decoder the
// path parameters.
func withPathParams(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		if len(pathParams) > 0 && r.Body != nil {
			r.Body = &pathBody{ReadCloser: r.Body, params: pathParams}
		}
		next(w, r, pathParams)
	}
}

// checkPathParams refuses a decoded body that sets a path parameter's field
// to another value than the path's. Parameters are checked in name order, so
// the same request always names the same one.
func checkPathParams(m proto.Message, params map[string]string) *errs.Error {
	for _, name := range slices.Sorted(maps.Keys(params)) {
		v, ok := stringAt(m.ProtoReflect(), name)
		if ok && v != params[name] {
			param := strings.ReplaceAll(name, ".", "_")
			return errs.Param(param, "parameter_invalid",
				"The body's %s differs from the one in the URL path; give it in the path only.", param)
		}
	}
	return nil
}

// stringAt is the string field at the dotted field path, if the body set it.
func stringAt(m protoreflect.Message, path string) (string, bool) {
	names := strings.Split(path, ".")
	for i, name := range names {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil || fd.IsList() || fd.IsMap() || !m.Has(fd) {
			return "", false
		}
		if i < len(names)-1 {
			if fd.Message() == nil {
				return "", false
			}
			m = m.Get(fd).Message()
			continue
		}
		if fd.Kind() != protoreflect.StringKind {
			return "", false
		}
		return m.Get(fd).String(), true
	}
	return "", false
}
