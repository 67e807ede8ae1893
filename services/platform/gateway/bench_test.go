package gateway

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
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
