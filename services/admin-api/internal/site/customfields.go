package site

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// The types of custom field.
const (
	FieldText     = "text"
	FieldNumeric  = "numeric"
	FieldDropdown = "dropdown"
)

// Limits of custom fields. A page asks for a handful of fields at most, so
// ten is generous (Stripe allows three); 255 characters is Stripe's limit of
// a text value too.
const (
	maxCustomFields    = 10
	maxFieldKeyLen     = 40
	maxFieldLabelLen   = 100
	maxFieldOptions    = 200
	maxOptionValueLen  = 100
	MaxFieldValueLen   = 255
	defaultFieldLocale = "en"
)

// Error codes of custom field values; the hosted page turns each into a
// message in the payer's language.
const (
	CodeFieldMissing   = "custom_field_missing"
	CodeFieldTooLong   = "custom_field_too_long"
	CodeFieldNumeric   = "custom_field_not_numeric"
	CodeFieldNotOption = "custom_field_not_an_option"
)

var (
	fieldTypes   = []string{FieldText, FieldNumeric, FieldDropdown}
	fieldLocales = []string{"en", "fr"} // the locales the hosted page speaks
	fieldKeyRE   = regexp.MustCompile(`^[A-Za-z0-9_]{1,40}$`)
)

// validateCustomFields checks a site's custom field definitions and fills
// their defaults (maximum_length 255 for text and numeric fields).
func validateCustomFields(fields []*adminv1.CustomField) error {
	if len(fields) > maxCustomFields {
		return errs.Param("custom_fields", "parameter_invalid", "At most %d custom fields.", maxCustomFields)
	}
	seen := map[string]bool{}
	for i, f := range fields {
		p := func(field string) string { return fmt.Sprintf("custom_fields[%d][%s]", i, field) }
		switch {
		case !fieldKeyRE.MatchString(f.GetKey()):
			return errs.Param(p("key"), "parameter_invalid", "A custom field's key is 1 to %d characters of A–Z, a–z, 0–9 and _.", maxFieldKeyLen)
		case seen[f.GetKey()]:
			return errs.Param(p("key"), "parameter_invalid", "Two custom fields have the key %q.", f.GetKey())
		case !slices.Contains(fieldTypes, f.GetType()):
			return errs.Param(p("type"), "parameter_invalid", "type must be one of %s.", strings.Join(fieldTypes, ", "))
		}
		seen[f.GetKey()] = true
		if err := checkLabel(p("label"), f.GetLabel()); err != nil {
			return err
		}
		if f.GetType() != FieldDropdown {
			if len(f.GetOptions()) > 0 {
				return errs.Param(p("options"), "parameter_invalid", "Only dropdown fields have options.")
			}
			if f.MaximumLength == 0 {
				f.MaximumLength = MaxFieldValueLen
			}
			if f.MaximumLength < 1 || f.MaximumLength > MaxFieldValueLen {
				return errs.Param(p("maximum_length"), "parameter_invalid", "maximum_length must be from 1 to %d.", MaxFieldValueLen)
			}
			continue
		}
		if f.MaximumLength != 0 {
			return errs.Param(p("maximum_length"), "parameter_invalid", "A dropdown's values are its options: it has no maximum_length.")
		}
		if n := len(f.GetOptions()); n < 1 || n > maxFieldOptions {
			return errs.Param(p("options"), "parameter_invalid", "A dropdown has 1 to %d options.", maxFieldOptions)
		}
		values := map[string]bool{}
		for j, o := range f.GetOptions() {
			op := func(field string) string { return fmt.Sprintf("custom_fields[%d][options][%d][%s]", i, j, field) }
			v := o.GetValue()
			switch {
			case strings.TrimSpace(v) != v || v == "" || utf8.RuneCountInString(v) > maxOptionValueLen:
				return errs.Param(op("value"), "parameter_invalid", "An option's value is 1 to %d characters, without surrounding spaces.", maxOptionValueLen)
			case values[v]:
				return errs.Param(op("value"), "parameter_invalid", "Two options have the value %q.", v)
			}
			values[v] = true
			if err := checkLabel(op("label"), o.GetLabel()); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLabel checks a label per locale: English required, known locales only.
func checkLabel(param string, label map[string]string) error {
	if strings.TrimSpace(label[defaultFieldLocale]) == "" {
		return errs.Param(param+"[en]", "parameter_missing", "A label needs its English text (%s[en]).", param)
	}
	for _, loc := range slices.Sorted(maps.Keys(label)) {
		switch {
		case !slices.Contains(fieldLocales, loc):
			return errs.Param(param+"["+loc+"]", "parameter_invalid", "Labels are given for the locales %s.", strings.Join(fieldLocales, ", "))
		case utf8.RuneCountInString(label[loc]) > maxFieldLabelLen:
			return errs.Param(param+"["+loc+"]", "parameter_invalid", "At most %d characters.", maxFieldLabelLen)
		}
	}
	return nil
}

// Label is a label's text in locale, English when it has none in locale.
func Label(label map[string]string, locale string) string {
	if v := label[locale]; v != "" {
		return v
	}
	return label[defaultFieldLocale]
}

// CheckValues validates custom field values against a site's definitions
// and returns them with surrounding spaces trimmed and empty values left
// out. Errors name `custom_fields[key]`: an unknown key, a value too long, a
// numeric value with anything but digits, a dropdown value that is not an
// option, and, when complete is set, a required field without a value
// (given here or in have).
func CheckValues(defs []*adminv1.CustomField, values, have map[string]string, complete bool) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		param := "custom_fields[" + k + "]"
		i := slices.IndexFunc(defs, func(f *adminv1.CustomField) bool { return f.GetKey() == k })
		if i < 0 {
			return nil, errs.Param(param, "parameter_unknown", "The site has no custom field %q.", k)
		}
		v := strings.TrimSpace(values[k])
		if v == "" {
			continue
		}
		if err := checkValue(param, defs[i], v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	if complete {
		for _, f := range defs {
			if _, ok := out[f.GetKey()]; !ok && !f.GetOptional() && have[f.GetKey()] == "" {
				return nil, errs.Param("custom_fields["+f.GetKey()+"]", CodeFieldMissing, "%s is required.", Label(f.GetLabel(), defaultFieldLocale))
			}
		}
	}
	return out, nil
}

func checkValue(param string, f *adminv1.CustomField, v string) error {
	switch f.GetType() {
	case FieldDropdown:
		if !slices.ContainsFunc(f.GetOptions(), func(o *adminv1.CustomFieldOption) bool { return o.GetValue() == v }) {
			return errs.Param(param, CodeFieldNotOption, "%q is not one of the field's options.", v)
		}
		return nil
	case FieldNumeric:
		if strings.Trim(v, "0123456789") != "" {
			return errs.Param(param, CodeFieldNumeric, "A numeric field holds digits only.")
		}
	}
	if n := utf8.RuneCountInString(v); n > int(f.GetMaximumLength()) {
		return errs.Param(param, CodeFieldTooLong, "At most %d characters (%d given).", f.GetMaximumLength(), n)
	}
	return nil
}

// Reparam renames the parameter an error of the custom field rules names
// (custom_fields…) for another list of the same rules: a site's
// subscription_custom_fields, a session's params_for_sub[custom_fields].
func Reparam(err error, from, to string) error {
	e, ok := errs.As(err)
	if !ok || !strings.HasPrefix(e.Param, from) {
		return err
	}
	out := *e
	out.Param = to + strings.TrimPrefix(e.Param, from)
	return &out
}
