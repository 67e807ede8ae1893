package web

import (
	"net/http"
	"strings"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
)

// customFieldPrefix starts the form name (and id) of a custom field's input:
// cf_{key}, so that no key can clash with the form's own fields.
const customFieldPrefix = "cf_"

// CustomFieldView is one of the site's custom fields on the payment form.
type CustomFieldView struct {
	// Name is the input's name and id: cf_{key}.
	Name string
	// Label is the field's label in the page's language (English when the
	// site gave none in it).
	Label string
	// Type is "text", "numeric" or "dropdown".
	Type      string
	Options   []CustomFieldOptionView
	Optional  bool
	MaxLength int32
	// Value is what the payer typed (shown again with an error), or, when
	// Held, the session's value.
	Value string
	// Held: the session has the value already (given at creation or on an
	// earlier try); the page shows it as text.
	Held bool
}

// CustomFieldOptionView is one choice of a dropdown.
type CustomFieldOptionView struct {
	Value, Label string
	Selected     bool
}

// customFieldsView lists the site's custom fields for the page, with the
// session's values and, for the others, what the payer posted (r.PostForm).
func customFieldsView(co *internalapiv1.GetCheckoutResponse, lang string, r *http.Request) []CustomFieldView {
	held := co.GetCheckoutSession().GetCustomFields().AsMap()
	var out []CustomFieldView
	for _, f := range co.GetSite().GetCustomFields() {
		v := CustomFieldView{Name: customFieldPrefix + f.GetKey(), Label: label(f.GetLabel(), lang), Type: f.GetType(),
			Optional: f.GetOptional(), MaxLength: f.GetMaximumLength()}
		if s, ok := held[f.GetKey()].(string); ok && s != "" {
			v.Value, v.Held = s, true
		} else if r.PostForm != nil {
			v.Value = strings.TrimSpace(r.PostForm.Get(v.Name))
		}
		for _, o := range f.GetOptions() {
			v.Options = append(v.Options, CustomFieldOptionView{Value: o.GetValue(), Label: label(o.GetLabel(), lang), Selected: o.GetValue() == v.Value})
			if v.Held && o.GetValue() == v.Value {
				v.Value = label(o.GetLabel(), lang) // a held choice shows its label
			}
		}
		out = append(out, v)
	}
	return out
}

// label is a label's text in lang, English when the site gave none in it.
func label(l map[string]string, lang string) string {
	if s := l[lang]; s != "" {
		return s
	}
	return l["en"]
}

// customFieldMessages are the message keys of admin-api's reasons for
// refusing a custom field value (site.Code… in admin-api).
var customFieldMessages = map[string]string{
	"custom_field_missing":       "cf.missing",
	"custom_field_too_long":      "cf.too_long",
	"custom_field_not_numeric":   "cf.not_numeric",
	"custom_field_not_an_option": "cf.not_an_option",
}

// setCustomFields sends the custom field values the payer posted to
// admin-api, which checks them against the site's definitions, stores them,
// and checks that every required field has a value. It returns the session
// as it now is, or the form's field errors (message keys by input name), or
// the call's error. A session that holds every value already needs no call.
func (h *Handler) setCustomFields(r *http.Request, co *internalapiv1.GetCheckoutResponse) (map[string]string, error) {
	held := co.GetCheckoutSession().GetCustomFields().AsMap()
	values := map[string]string{}
	bad := map[string]string{}
	for _, f := range co.GetSite().GetCustomFields() {
		if _, ok := held[f.GetKey()]; ok {
			continue
		}
		name := customFieldPrefix + f.GetKey()
		v := strings.TrimSpace(r.PostForm.Get(name))
		if !grpcx.Storable(v) {
			bad[name] = "err.characters"
			continue
		}
		values[f.GetKey()] = v
	}
	if len(bad) > 0 {
		return bad, nil
	}
	if len(values) == 0 {
		return nil, nil
	}
	ctx, cancel := h.adminContext(r)
	defer cancel()
	res, err := h.Admin.SetCustomFields(ctx, &internalapiv1.SetCustomFieldsRequest{SessionId: co.GetCheckoutSession().GetId(), Values: values})
	if err != nil {
		e, ok := errs.As(grpcx.DomainError(err))
		if ok && e.Kind == errs.Invalid && strings.HasPrefix(e.Param, "custom_fields[") {
			key := strings.TrimSuffix(strings.TrimPrefix(e.Param, "custom_fields["), "]")
			msg, known := customFieldMessages[e.Code]
			if !known {
				msg = "cf.invalid"
			}
			return map[string]string{customFieldPrefix + key: msg}, nil
		}
		return nil, err
	}
	co.CheckoutSession = res.GetCheckoutSession()
	return nil, nil
}
