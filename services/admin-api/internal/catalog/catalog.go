// Package catalog is the merchant's billing catalog: customers, products and
// their prices (and, next to them, discounts and subscriptions), served as
// gRPC services (REST through grpc-gateway), and the resolution of a new
// session's catalog references (line items' price_id, customer_id) into the
// session's own fields.
package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// updateMask returns the paths of an update's mask, refusing those not in
// allowed; "id" (the path parameter) is ignored. A nested path such as
// "address.city" is allowed when allowed lists "address.*".
func updateMask(paths []string, allowed ...string) ([]string, error) {
	out := make([]string, 0, len(paths))
	for _, path := range paths {
		if path == "id" {
			continue
		}
		name := path
		if top, _, nested := strings.Cut(path, "."); nested {
			name = top + ".*"
		}
		if !slices.Contains(allowed, name) {
			return nil, errs.Param(paramName(path), "parameter_unknown", "Received unknown parameter: %s.", path)
		}
		out = append(out, path)
	}
	return out, nil
}

// paramName writes a mask path as a request parameter: address.city →
// address[city].
func paramName(path string) string {
	first, rest, nested := strings.Cut(path, ".")
	if !nested {
		return path
	}
	return first + "[" + strings.ReplaceAll(rest, ".", "][") + "]"
}

// mergeMetadata applies an update's metadata to the stored one, as Stripe
// does: the keys given are set, a key given an empty value is removed. The
// result obeys the same limits as on creation.
func mergeMetadata(stored []byte, update map[string]string) (map[string]string, error) {
	cur, err := decodeMetadata(stored)
	if err != nil {
		return nil, err
	}
	for k, v := range update {
		if v == "" {
			delete(cur, k)
		} else {
			cur[k] = v
		}
	}
	return session.Metadata(cur)
}

// decodeMetadata reads a stored metadata column (never nil).
func decodeMetadata(stored []byte) (map[string]string, error) {
	m := map[string]string{}
	if len(stored) > 0 {
		if err := json.Unmarshal(stored, &m); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	}
	return m, nil
}

// encodeMetadata validates metadata given on creation and encodes it.
func encodeMetadata(m map[string]string) ([]byte, error) {
	m, err := session.Metadata(m)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// optionalText trims v and checks its length; "" becomes nil (null).
func optionalText(param, v string, max int) (*string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if utf8.RuneCountInString(v) > max {
		return nil, errs.Param(param, "parameter_invalid", "%s is limited to %d characters.", param, max)
	}
	return &v, nil
}

// deref reads an optional column for an optional proto field.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// optionalBool passes an optional filter to a query (null: no filter).
func optionalBool(b *bool) pgtype.Bool {
	if b == nil {
		return pgtype.Bool{}
	}
	return pgtype.Bool{Bool: *b, Valid: true}
}

// MergeMetadataJSON is mergeMetadata on a stored column, encoded again.
func MergeMetadataJSON(stored []byte, update map[string]string) ([]byte, error) {
	m, err := mergeMetadata(stored, update)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}
