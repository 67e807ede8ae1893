package gateway

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// BenchmarkMarshal compares Marshal with protojson (set up to emit every
// field with proto names, the nearest it comes to our output) on a session
// with three line items.
func BenchmarkMarshal(b *testing.B) {
	session := sampleSession()
	b.Run("gateway", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Marshal(session); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		opts := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := opts.Marshal(session); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUnmarshal compares Unmarshal (its fast path) with protojson on a
// session creation body: three line items and metadata.
func BenchmarkUnmarshal(b *testing.B) {
	body := []byte(`{"line_items":[{"name":"Tea","unit_amount":450,"quantity":3},{"name":"Cup","unit_amount":1299,"quantity":1},` +
		`{"name":"Honey","unit_amount":650,"quantity":2}],"currency":"EUR","success_url":"https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",` +
		`"cancel_url":"https://shop.example/cart","metadata":{"order":"1234","channel":"bench"}}`)
	b.Run("gateway", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Unmarshal(body, &adminv1.CreateCheckoutSessionRequest{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := protojson.Unmarshal(body, &adminv1.CreateCheckoutSessionRequest{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
