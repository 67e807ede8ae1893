package grpcapi

import (
	"encoding/json"
	"fmt"
	"slices"

	"google.golang.org/protobuf/types/known/structpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/site"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// expandable are the fields of a session the API returns only when asked
// with `expand` (seed 002: custom fields are "retrievable from the API when
// expand=custom_fields is specified"). Events always carry them.
var expandable = []string{"custom_fields"}

// checkExpand validates an `expand` parameter.
func checkExpand(expand []string) error {
	for i, e := range expand {
		if !slices.Contains(expandable, e) {
			return errs.Param(fmt.Sprintf("expand[%d]", i), "parameter_invalid", "Only custom_fields can be expanded; got %q.", e)
		}
	}
	return nil
}

// applyExpand leaves out of a session the expandable fields expand does not
// name.
func applyExpand(cs *adminv1.CheckoutSession, expand []string) *adminv1.CheckoutSession {
	if !slices.Contains(expand, "custom_fields") {
		cs.CustomFields = nil
	}
	return cs
}

// siteCustomFieldValues validates custom field values against the
// definitions of a stored site (see site.CheckValues).
func siteCustomFieldValues(s db.AdminSite, values, have map[string]string, complete bool) (map[string]string, error) {
	defs, err := CustomFields(s.CustomFields)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.ID, err)
	}
	return site.CheckValues(defs, values, have, complete)
}

// sessionCustomFields reads a session's stored custom field values.
func sessionCustomFields(s db.AdminCheckoutSession) (map[string]string, error) {
	values := map[string]string{}
	if len(s.CustomFields) <= len("{}") { // most sessions: no values, no decoding
		return values, nil
	}
	if err := json.Unmarshal(s.CustomFields, &values); err != nil {
		return nil, fmt.Errorf("session %s custom fields: %w", s.ID, err)
	}
	return values, nil
}

// customFieldsStruct is the API form of a session's custom field values.
func customFieldsStruct(values map[string]string) *structpb.Struct {
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(values))}
	for k, v := range values {
		out.Fields[k] = structpb.NewStringValue(v)
	}
	return out
}

// subscriptionFieldValues validates params_for_sub.custom_fields (seed 002)
// against the site's subscription_custom_fields, for a session that creates
// a subscription; required fields must be given (no page collects them).
// It returns their stored form, nil when there are none.
func subscriptionFieldValues(s db.AdminSite, subscribing bool, p *adminv1.ParamsForSubParams) ([]byte, error) {
	if !subscribing {
		if len(p.GetCustomFields()) > 0 {
			return nil, errs.Param("params_for_sub", "parameter_invalid", "params_for_sub is for sessions that create a subscription (a recurring price).")
		}
		return nil, nil
	}
	defs, err := CustomFields(s.SubscriptionCustomFields)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.ID, err)
	}
	values, err := site.CheckValues(defs, p.GetCustomFields(), nil, true)
	if err != nil || len(values) == 0 {
		return nil, site.Reparam(err, "custom_fields", "params_for_sub[custom_fields]")
	}
	return json.Marshal(values)
}
