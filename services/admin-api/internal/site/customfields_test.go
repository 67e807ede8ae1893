package site

import (
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

func en(s string) map[string]string { return map[string]string{"en": s} }

func validFields() []*adminv1.CustomField {
	return []*adminv1.CustomField{
		{Key: "company", Label: map[string]string{"en": "Company", "fr": "Société"}, Type: FieldText, Optional: true},
		{Key: "seats", Label: en("Seats"), Type: FieldNumeric, MaximumLength: 3},
		{Key: "size", Label: en("Size"), Type: FieldDropdown, Options: []*adminv1.CustomFieldOption{
			{Value: "s", Label: en("Small")}, {Value: "l", Label: map[string]string{"en": "Large", "fr": "Grand"}}}},
	}
}

func TestValidateCustomFieldsDefaults(t *testing.T) {
	fields := validFields()
	if err := validateCustomFields(fields); err != nil {
		t.Fatal(err)
	}
	if fields[0].MaximumLength != MaxFieldValueLen || fields[1].MaximumLength != 3 || fields[2].MaximumLength != 0 {
		t.Errorf("maximum lengths %d %d %d, want %d 3 0", fields[0].MaximumLength, fields[1].MaximumLength, fields[2].MaximumLength, MaxFieldValueLen)
	}
}

func TestValidateCustomFieldsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(f []*adminv1.CustomField) []*adminv1.CustomField
		param string
	}{
		{"bad key", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[1].Key = "no spaces"; return f }, "custom_fields[1][key]"},
		{"duplicate key", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[2].Key = "company"; return f }, "custom_fields[2][key]"},
		{"unknown type", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[0].Type = "date"; return f }, "custom_fields[0][type]"},
		{"no English label", func(f []*adminv1.CustomField) []*adminv1.CustomField {
			f[0].Label = map[string]string{"fr": "Société"}
			return f
		}, "custom_fields[0][label][en]"},
		{"unknown locale", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[0].Label["de"] = "Firma"; return f }, "custom_fields[0][label][de]"},
		{"options on text", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[0].Options = f[2].Options; return f }, "custom_fields[0][options]"},
		{"dropdown without options", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[2].Options = nil; return f }, "custom_fields[2][options]"},
		{"duplicate option", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[2].Options[1].Value = "s"; return f }, "custom_fields[2][options][1][value]"},
		{"option without label", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[2].Options[0].Label = nil; return f }, "custom_fields[2][options][0][label][en]"},
		{"length too large", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[1].MaximumLength = 256; return f }, "custom_fields[1][maximum_length]"},
		{"length on a dropdown", func(f []*adminv1.CustomField) []*adminv1.CustomField { f[2].MaximumLength = 5; return f }, "custom_fields[2][maximum_length]"},
		{"too many", func(f []*adminv1.CustomField) []*adminv1.CustomField {
			for i := range 10 {
				f = append(f, &adminv1.CustomField{Key: "k" + string(rune('a'+i)), Label: en("K"), Type: FieldText})
			}
			return f
		}, "custom_fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateCustomFields(tc.edit(validFields()))
			if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid || e.Param != tc.param {
				t.Errorf("got %v, want a 400 naming %s", err, tc.param)
			}
		})
	}
}

func TestCheckValues(t *testing.T) {
	defs := validFields()
	if err := validateCustomFields(defs); err != nil {
		t.Fatal(err)
	}
	got, err := CheckValues(defs, map[string]string{"company": "  ACME ", "seats": "12", "size": ""}, nil, false)
	if err != nil || len(got) != 2 || got["company"] != "ACME" || got["seats"] != "12" {
		t.Errorf("CheckValues = %v, %v; want company=ACME seats=12 (trimmed, the empty value left out)", got, err)
	}
	for _, tc := range []struct {
		name     string
		values   map[string]string
		have     map[string]string
		complete bool
		param    string
		code     string
	}{
		{"unknown key", map[string]string{"colour": "red"}, nil, false, "custom_fields[colour]", "parameter_unknown"},
		{"not digits", map[string]string{"seats": "1.5"}, nil, false, "custom_fields[seats]", CodeFieldNumeric},
		{"too long", map[string]string{"seats": "1234"}, nil, false, "custom_fields[seats]", CodeFieldTooLong},
		{"not an option", map[string]string{"size": "m"}, nil, false, "custom_fields[size]", CodeFieldNotOption},
		{"required missing", map[string]string{"seats": "2"}, nil, true, "custom_fields[size]", CodeFieldMissing},
		{"required blank", map[string]string{"seats": "2", "size": " "}, nil, true, "custom_fields[size]", CodeFieldMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckValues(defs, tc.values, tc.have, tc.complete)
			if e, ok := errs.As(err); !ok || e.Param != tc.param || e.Code != tc.code {
				t.Errorf("got %v, want %s naming %s", err, tc.code, tc.param)
			}
		})
	}
	// Required fields held already (given at creation) complete the set;
	// optional ones may stay empty.
	if _, err := CheckValues(defs, map[string]string{"size": "l"}, map[string]string{"seats": "3"}, true); err != nil {
		t.Errorf("complete with held values: %v", err)
	}
}
