package grpcx

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

func TestValidateStrings(t *testing.T) {
	call := func(req any) error {
		_, err := ValidateStrings()(context.Background(), req, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) { return nil, nil })
		return err
	}
	ok, _ := structpb.NewStruct(map[string]any{"name": "Tea", "items": []any{"a", map[string]any{"b": "c"}}})
	if err := call(ok); err != nil {
		t.Fatalf("clean request refused: %v", err)
	}
	for _, c := range []struct {
		value map[string]any
		param string
	}{
		{map[string]any{"name": "a\x00b"}, "fields[name][string_value]"},
		{map[string]any{"items": []any{"ok", "bad\xff"}}, "fields[items][list_value][values][1][string_value]"},
		{map[string]any{"nested": map[string]any{"deep": "\x00"}}, "fields[nested][struct_value][fields][deep][string_value]"},
	} {
		m, _ := structpb.NewStruct(map[string]any{})
		for k, v := range c.value {
			val, err := structpb.NewValue(v)
			if err != nil {
				// NewValue refuses invalid UTF-8; build that value by hand.
				val = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewStringValue("ok"), structpb.NewStringValue("bad\xff")}})
			}
			m.Fields[k] = val
		}
		err := call(m)
		e, isErr := errs.As(err)
		if !isErr || e.Kind != errs.Invalid || e.Param != c.param {
			t.Errorf("%v: got %v, want Invalid with param %q", c.value, err, c.param)
		}
	}
}

func TestValidateStringsNamesTheSameParameterEveryTime(t *testing.T) {
	m, _ := structpb.NewStruct(map[string]any{"b": "x\x00", "a": "y\x00", "c": "z\x00"})
	for range 50 {
		_, err := ValidateStrings()(context.Background(), m, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) { return nil, nil })
		if e, _ := errs.As(err); e == nil || e.Param != "fields[a][string_value]" {
			t.Fatalf("got %v, want the first key in order, fields[a][string_value]", err)
		}
	}
}
