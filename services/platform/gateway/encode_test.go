package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// sampleSession is a session with every kind of field of the API object:
// numbers, nulls for unset optionals, timestamps, a map, lists and text
// that needs escaping. It has three line items (the benchmark's shape).
func sampleSession() *adminv1.CheckoutSession {
	return &adminv1.CheckoutSession{
		Id:             "cs_test_a1b2c3",
		Object:         "checkout.session",
		SiteId:         "site_1",
		Status:         "open",
		PaymentStatus:  "unpaid",
		Url:            "https://secure.example.com/checkout/cs_test_a1b2c3",
		AmountSubtotal: 5000,
		AmountTax:      0,
		AmountTotal:    5000,
		Amount:         5000,
		Currency:       "GHS",
		LineItems: []*adminv1.LineItem{
			{Name: "Tea & <biscuits>", Description: proto.String("Earl \"Grey\""), UnitAmount: 1500, Quantity: 2, AmountTotal: 3000},
			{Name: "Cake", UnitAmount: 1000, Quantity: 1, ImageUrl: proto.String("https://img.example.com/cake.png"), AmountTotal: 1000},
			{Name: "Tip\u2028", UnitAmount: 1000, Quantity: 1, AmountTotal: 1000},
		},
		CustomerEmail:      proto.String("ama@example.com"),
		SuccessUrl:         "https://shop.example.com/ok?session={CHECKOUT_SESSION_ID}",
		CancelUrl:          "https://shop.example.com/cancel",
		Metadata:           map[string]string{"order": "1001", "channel": "web", "Zeta": "z"},
		OrderId:            proto.String("1001"),
		Reference:          "TP-7KQ2",
		Livemode:           false,
		ExpiresAt:          timestamppb.New(time.Date(2024, 1, 17, 10, 0, 0, 0, time.UTC)),
		CreatedAt:          timestamppb.New(time.Date(2024, 1, 16, 10, 0, 0, 0, time.UTC)),
		PaymentMethodTypes: []string{"card", "bank_transfer"},
		Locale:             "auto",
	}
}

func TestMarshalCheckoutSession(t *testing.T) {
	got, err := Marshal(sampleSession())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"cs_test_a1b2c3","object":"checkout.session","site_id":"site_1","status":"open",` +
		`"payment_status":"unpaid","url":"https://secure.example.com/checkout/cs_test_a1b2c3",` +
		`"amount_subtotal":5000,"amount_tax":0,"amount_total":5000,"amount":5000,"currency":"GHS",` +
		`"line_items":[` +
		`{"name":"Tea \u0026 \u003cbiscuits\u003e","description":"Earl \"Grey\"","unit_amount":1500,"quantity":2,"image_url":null,"amount_total":3000,"price_id":null,"product_id":null,"adjustable_quantity":null,"amount_discount":0,"amount_subtotal":0},` +
		`{"name":"Cake","description":null,"unit_amount":1000,"quantity":1,"image_url":"https://img.example.com/cake.png","amount_total":1000,"price_id":null,"product_id":null,"adjustable_quantity":null,"amount_discount":0,"amount_subtotal":0},` +
		`{"name":"Tip\u2028","description":null,"unit_amount":1000,"quantity":1,"image_url":null,"amount_total":1000,"price_id":null,"product_id":null,"adjustable_quantity":null,"amount_discount":0,"amount_subtotal":0}],` +
		`"customer":null,"customer_email":"ama@example.com","customer_phone":null,` +
		`"success_url":"https://shop.example.com/ok?session={CHECKOUT_SESSION_ID}","cancel_url":"https://shop.example.com/cancel",` +
		`"metadata":{"Zeta":"z","channel":"web","order":"1001"},"order_id":"1001","description":null,` +
		`"reference":"TP-7KQ2","payment":null,"livemode":false,` +
		`"expires_at":"2024-01-17T10:00:00Z","created_at":"2024-01-16T10:00:00Z",` +
		`"payment_method_types":["card","bank_transfer"],"locale":"auto","notify_url":null,"completed_at":null,"client_reference_id":null,` +
		`"uuid":"","max_installment_count":0,"installment_interest_paid_by":"","return_method":"",` +
		`"processing_fee":null,"net_amount":null,"notify_format":"","total_details":null,"discounts":[],"allow_promotion_codes":false,` +
		`"route":null,"custom_fields":null,"cascade_line_items":[],"cascade_tier":0,"cascade_payment":null,` +
		`"mode":"","subscription":null,"customer_creation":""}`
	if string(got) != want {
		t.Errorf("Marshal:\n got %s\nwant %s", got, want)
	}
	if !json.Valid(got) {
		t.Error("output is not valid JSON")
	}
}

func TestMarshalZeroValues(t *testing.T) {
	got, err := Marshal(&adminv1.ListCheckoutSessionsResponse{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"object":"","data":[],"has_more":false,"url":""}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	got, err = Marshal(&adminv1.CheckoutSession{Metadata: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{`"metadata":{}`, `"line_items":[]`, `"amount":0`, `"expires_at":null`, `"livemode":false`} {
		if !strings.Contains(string(got), part) {
			t.Errorf("%s lacks %s", got, part)
		}
	}
}

func TestMarshalNil(t *testing.T) {
	for _, m := range []proto.Message{nil, (*adminv1.CheckoutSession)(nil)} {
		got, err := Marshal(m)
		if err != nil || string(got) != "null" {
			t.Errorf("Marshal(%#v) = %s, %v; want null", m, got, err)
		}
	}
}

// TestMarshalRoundTrip checks the output against protojson's reading of it:
// numbers, nulls and timestamps must mean the same message.
func TestMarshalRoundTrip(t *testing.T) {
	msgs := []proto.Message{
		sampleSession(),
		&adminv1.Site{Id: "site_1", Name: "Shop", Branding: &adminv1.Branding{PrimaryColor: "#112233"},
			TaxRates:  []*adminv1.TaxRate{{Country: "GH", PercentageBps: 1500, Inclusive: true}},
			CreatedAt: timestamppb.New(time.Unix(1700000000, 0))},
	}
	for _, m := range msgs {
		out, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back := m.ProtoReflect().New().Interface()
		if err := protojson.Unmarshal(out, back); err != nil {
			t.Fatalf("protojson cannot read %s: %v", out, err)
		}
		if !proto.Equal(m, back) {
			t.Errorf("round trip changed the message:\n in %v\nout %v", m, back)
		}
	}
}

func TestMarshalTimestampSecondPrecision(t *testing.T) {
	got, err := Marshal(timestamppb.New(time.Date(2024, 1, 16, 11, 0, 0, 999_999_999, time.FixedZone("x", 3600))))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"2024-01-16T10:00:00Z"`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := Marshal(&timestamppb.Timestamp{Seconds: maxTimestampSeconds + 1}); err == nil {
		t.Error("out-of-range timestamp: no error")
	}
}

// kitchenFile describes a message with every kind of field the API's protos
// do not have yet: enums, unsigned and float numbers, bytes, wrappers,
// Struct, Value, Duration, FieldMask, Any, an int-keyed map, a proto3
// optional and a oneof.
const kitchenFile = `
name: "kitchen.proto" package: "test.kitchen" syntax: "proto3"
dependency: ["google/protobuf/wrappers.proto", "google/protobuf/struct.proto", "google/protobuf/duration.proto",
  "google/protobuf/field_mask.proto", "google/protobuf/any.proto"]
enum_type { name: "PaymentStatus" value { name: "PAYMENT_STATUS_UNSPECIFIED" number: 0 } value { name: "PAYMENT_STATUS_REQUIRES_ACTION" number: 1 } }
enum_type { name: "Color" value { name: "RED" number: 0 } }
message_type {
  name: "Kitchen"
  field { name: "i32" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "u64" number: 2 label: LABEL_OPTIONAL type: TYPE_UINT64 }
  field { name: "s64" number: 3 label: LABEL_OPTIONAL type: TYPE_SINT64 }
  field { name: "f32" number: 4 label: LABEL_OPTIONAL type: TYPE_FLOAT }
  field { name: "f64" number: 5 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
  field { name: "nan" number: 6 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
  field { name: "flag" number: 7 label: LABEL_OPTIONAL type: TYPE_BOOL }
  field { name: "blob" number: 8 label: LABEL_OPTIONAL type: TYPE_BYTES }
  field { name: "status" number: 9 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".test.kitchen.PaymentStatus" }
  field { name: "color" number: 10 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".test.kitchen.Color" }
  field { name: "unknown_status" number: 11 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".test.kitchen.PaymentStatus" }
  field { name: "wrapped_count" number: 12 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Int64Value" }
  field { name: "wrapped_name" number: 13 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.StringValue" }
  field { name: "attrs" number: 14 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Struct" }
  field { name: "any_value" number: 15 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Value" }
  field { name: "ttl" number: 16 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" }
  field { name: "mask" number: 17 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.FieldMask" }
  field { name: "payload" number: 18 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Any" }
  field { name: "counts" number: 19 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".test.kitchen.Kitchen.CountsEntry" }
  field { name: "opt_int" number: 20 label: LABEL_OPTIONAL type: TYPE_INT64 oneof_index: 1 proto3_optional: true }
  field { name: "a" number: 21 label: LABEL_OPTIONAL type: TYPE_STRING oneof_index: 0 }
  field { name: "b" number: 22 label: LABEL_OPTIONAL type: TYPE_INT64 oneof_index: 0 }
  field { name: "tags" number: 23 label: LABEL_REPEATED type: TYPE_STRING }
  field { name: "empty_list" number: 24 label: LABEL_REPEATED type: TYPE_INT64 }
  nested_type {
    name: "CountsEntry" options { map_entry: true }
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
  }
  oneof_decl { name: "choice" }
  oneof_decl { name: "_opt_int" }
}`

func kitchenDescriptor(t testing.TB) protoreflect.MessageDescriptor {
	t.Helper()
	// The Go packages of the well-known types register their files.
	_ = []proto.Message{&wrapperspb.Int64Value{}, &structpb.Struct{}, &durationpb.Duration{}, &fieldmaskpb.FieldMask{}, &anypb.Any{}}
	var fdp descriptorpb.FileDescriptorProto
	if err := prototext.Unmarshal([]byte(kitchenFile), &fdp); err != nil {
		t.Fatal(err)
	}
	fd, err := protodesc.NewFile(&fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Kitchen")
}

func TestMarshalAllKinds(t *testing.T) {
	md := kitchenDescriptor(t)
	m := dynamicpb.NewMessage(md)
	set := func(name string, v protoreflect.Value) { m.Set(md.Fields().ByName(protoreflect.Name(name)), v) }
	set("i32", protoreflect.ValueOfInt32(-5))
	set("u64", protoreflect.ValueOfUint64(math.MaxUint64))
	set("s64", protoreflect.ValueOfInt64(-9007199254740993)) // not exact as a float64
	set("f32", protoreflect.ValueOfFloat32(1.5))
	set("f64", protoreflect.ValueOfFloat64(1e-7))
	set("nan", protoreflect.ValueOfFloat64(math.NaN()))
	set("flag", protoreflect.ValueOfBool(true))
	set("blob", protoreflect.ValueOfBytes([]byte("hi")))
	set("status", protoreflect.ValueOfEnum(1))
	set("unknown_status", protoreflect.ValueOfEnum(7))
	set("wrapped_count", protoreflect.ValueOfMessage(wrapperspb.Int64(5000).ProtoReflect()))
	attrs, err := structpb.NewStruct(map[string]any{"b": 1, "a": "x<", "c": []any{true, nil}})
	if err != nil {
		t.Fatal(err)
	}
	set("attrs", protoreflect.ValueOfMessage(attrs.ProtoReflect()))
	set("any_value", protoreflect.ValueOfMessage(structpb.NewStringValue("v").ProtoReflect()))
	set("ttl", protoreflect.ValueOfMessage(durationpb.New(1500*time.Millisecond).ProtoReflect()))
	set("mask", protoreflect.ValueOfMessage((&fieldmaskpb.FieldMask{Paths: []string{"default_currency", "name"}}).ProtoReflect()))
	payload, err := anypb.New(&adminv1.LineItem{Name: "Tea", UnitAmount: 100, Quantity: 2, AmountTotal: 200})
	if err != nil {
		t.Fatal(err)
	}
	set("payload", protoreflect.ValueOfMessage(payload.ProtoReflect()))
	counts := m.Mutable(md.Fields().ByName("counts")).Map()
	for k, v := range map[int32]string{10: "ten", 2: "two", -1: "neg"} {
		counts.Set(protoreflect.ValueOfInt32(k).MapKey(), protoreflect.ValueOfString(v))
	}
	set("a", protoreflect.ValueOfString("A"))
	m.Mutable(md.Fields().ByName("tags")).List().Append(protoreflect.ValueOfString("x"))

	got, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"i32":-5,"u64":18446744073709551615,"s64":-9007199254740993,"f32":1.5,"f64":1e-7,"nan":"NaN",` +
		`"flag":true,"blob":"aGk=","status":"requires_action","color":"red","unknown_status":7,` +
		`"wrapped_count":5000,"wrapped_name":null,"attrs":{"a":"x\u003c","b":1,"c":[true,null]},"any_value":"v",` +
		`"ttl":"1.500s","mask":"default_currency,name",` +
		`"payload":{"@type":"type.googleapis.com/tillpoint.admin.v1.LineItem","name":"Tea","description":null,"unit_amount":100,"quantity":2,"image_url":null,"amount_total":200,"price_id":null,"product_id":null,"adjustable_quantity":null,"amount_discount":0,"amount_subtotal":0},` +
		`"counts":{"-1":"neg","2":"two","10":"ten"},"opt_int":null,"a":"A","b":null,"tags":["x"],"empty_list":[]}`
	if string(got) != want {
		t.Errorf("Marshal:\n got %s\nwant %s", got, want)
	}
	if !json.Valid(got) {
		t.Error("output is not valid JSON")
	}
}

func TestMarshalDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: `"0s"`, time.Hour: `"3600s"`, -1500 * time.Millisecond: `"-1.500s"`,
		time.Microsecond: `"0.000001s"`, time.Nanosecond: `"0.000000001s"`,
	} {
		got, err := Marshal(durationpb.New(d))
		if err != nil || string(got) != want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", d, got, err, want)
		}
	}
}

func TestEnumPrefixLen(t *testing.T) {
	for _, tc := range []struct {
		typ, value string
		want       int
	}{
		{"PaymentStatus", "PAYMENT_STATUS_PAID", len("PAYMENT_STATUS_")},
		{"HTTPCode", "HTTP_CODE_OK", len("HTTP_CODE_")},
		{"Version2Kind", "VERSION2_KIND_A", len("VERSION2_KIND_")},
		{"Color", "RED", 0},
		{"Status", "STATUS_", 0}, // nothing would be left
		{"Status", "STATUSES", 0},
	} {
		if got := enumPrefixLen(tc.typ, tc.value); got != tc.want {
			t.Errorf("enumPrefixLen(%q, %q) = %d, want %d", tc.typ, tc.value, got, tc.want)
		}
	}
}

func TestWriteStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "<script>&", "\x00\x01\x1f\b\f\n\r\t\x7f",
		"\u2028\u2029", "bad \xff utf8 \xe2\x82", "é ☃ 😀"} {
		checkWriteString(t, s)
	}
}

func FuzzWriteString(f *testing.F) {
	f.Add("tea & <biscuits>\u2028\xff")
	f.Fuzz(checkWriteString)
}

func checkWriteString(t *testing.T, s string) {
	var buf bytes.Buffer
	writeString(&buf, s)
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Errorf("writeString(%q) = %s, encoding/json writes %s", s, buf.Bytes(), want)
	}
}
