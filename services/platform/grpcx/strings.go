package grpcx

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// ValidateStrings refuses requests with a string that PostgreSQL cannot store
// (a NUL character) or that is not UTF-8, naming the parameter Stripe-style
// (`tax_rates[0][display_name]`). It guards every field of every request in
// one place, so no handler can turn such input into a 500.
func ValidateStrings() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if param := badString(m.ProtoReflect(), ""); param != "" {
				return nil, errs.Param(param, "parameter_invalid", "%s contains a NUL character or is not valid UTF-8.", param)
			}
		}
		return handler(ctx, req)
	}
}

// badString returns the path of the first unstorable string in m, or "":
// fields in declaration order, map keys sorted, so that the same request
// always names the same parameter.
func badString(m protoreflect.Message, prefix string) string {
	var found string
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len() && found == ""; i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		v := m.Get(fd)
		path := string(fd.Name())
		if prefix != "" {
			path = prefix + "[" + path + "]"
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && found == ""; i++ {
				found = badValue(fd, l.Get(i), fmt.Sprintf("%s[%d]", path, i))
			}
		case fd.IsMap():
			mp := v.Map()
			var keys []protoreflect.MapKey
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool { keys = append(keys, k); return true })
			slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
			for _, k := range keys {
				if key := k.String(); !Storable(key) {
					found = path
				} else {
					found = badValue(fd.MapValue(), mp.Get(k), path+"["+key+"]")
				}
				if found != "" {
					break
				}
			}
		default:
			found = badValue(fd, v, path)
		}
	}
	return found
}

func badValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !Storable(v.String()) {
			return path
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return badString(v.Message(), path)
	}
	return ""
}

// Storable reports whether s can be stored and sent as it is: valid UTF-8
// (protobuf strings must be) without NUL (PostgreSQL text refuses it).
func Storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
