package gateway

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

func parseQuery(t testing.TB, query string, msg proto.Message, filter *utilities.DoubleArray) error {
	t.Helper()
	values, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	return QueryParser{}.Parse(msg, values, filter)
}

func TestQueryAccepts(t *testing.T) {
	jan16 := timestamppb.New(time.Date(2024, 1, 16, 10, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		query string
		want  *adminv1.ListCheckoutSessionsRequest
	}{
		{"created[gte]=1700000000", &adminv1.ListCheckoutSessionsRequest{Created: &adminv1.TimeRange{Gte: &timestamppb.Timestamp{Seconds: 1700000000}}}},
		{"created%5Blt%5D=2024-01-16T10:00:00Z", &adminv1.ListCheckoutSessionsRequest{Created: &adminv1.TimeRange{Lt: jan16}}},
		{"created.lt=2024-01-16T11:00:00%2B01:00", &adminv1.ListCheckoutSessionsRequest{Created: &adminv1.TimeRange{Lt: jan16}}},
		{"created[lt]=2024-01-16T11:00:00+01:00", &adminv1.ListCheckoutSessionsRequest{Created: &adminv1.TimeRange{Lt: jan16}}}, // "+" read as a space
		{"limit=5&site_id=site_1&startingAfter=cs_1", &adminv1.ListCheckoutSessionsRequest{Limit: proto.Int32(5), SiteId: "site_1", StartingAfter: "cs_1"}},
		{"limit=&status=", &adminv1.ListCheckoutSessionsRequest{}},
		{"", &adminv1.ListCheckoutSessionsRequest{}},
	} {
		var got adminv1.ListCheckoutSessionsRequest
		if err := parseQuery(t, tc.query, &got, nil); err != nil {
			t.Errorf("Parse(%s): %v", tc.query, err)
			continue
		}
		if !proto.Equal(&got, tc.want) {
			t.Errorf("Parse(%s) = %v, want %v", tc.query, &got, tc.want)
		}
	}
}

func TestQueryMapsAndLists(t *testing.T) {
	var got adminv1.CreateCheckoutSessionRequest
	err := parseQuery(t, "metadata[order]=1001&metadata[Channel]=web&payment_method_types[]=card&payment_method_types[]=bank_transfer&amount=5000", &got, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &adminv1.CreateCheckoutSessionRequest{
		Metadata:           map[string]string{"order": "1001", "Channel": "web"},
		PaymentMethodTypes: []string{"card", "bank_transfer"},
		Amount:             proto.Int64(5000),
	}
	if !proto.Equal(&got, want) {
		t.Errorf("got %v, want %v", &got, want)
	}
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		query, code, param string
	}{
		{"bogus=1", "parameter_unknown", "bogus"},
		{"created[foo]=1", "parameter_unknown", "created[foo]"},
		{"limit[x]=1", "parameter_unknown", "limit[x]"},
		{"created=5", "parameter_invalid", "created"},
		{"limit=abc", "parameter_invalid_type", "limit"},
		{"limit=99999999999", "parameter_invalid_type", "limit"},
		{"limit=1e1", "parameter_invalid_type", "limit"},
		{"limit=%2B5", "parameter_invalid_type", "limit"},
		{"limit=05", "parameter_invalid_type", "limit"},
		{"limit=5.0", "parameter_invalid_type", "limit"},
		{"limit=1&limit=2", "parameter_invalid", "limit"},
		{"created[gte]=yesterday", "parameter_invalid_type", "created[gte]"},
		{"created[gte]=999999999999999", "parameter_invalid_type", "created[gte]"},
		{"a[b=1", "parameter_invalid", "a[b"},
		{"status=%ff", "parameter_invalid_type", "status"},
		{"bogus=1&limit=abc", "parameter_unknown", "bogus"}, // the first in name order
	} {
		var req adminv1.ListCheckoutSessionsRequest
		err := parseQuery(t, tc.query, &req, nil)
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.Invalid || e.Code != tc.code || e.Param != tc.param {
			t.Errorf("Parse(%s) = %#v, want code %s, param %s", tc.query, err, tc.code, tc.param)
			continue
		}
		if got := toAPIError(status.Errorf(codes.InvalidArgument, "%v", err)); got.status != http.StatusBadRequest || got.param != tc.param {
			t.Errorf("Parse(%s): through a status: %+v", tc.query, got)
		}
	}
}

func TestQueryMapAndListErrors(t *testing.T) {
	for _, tc := range []struct {
		query, code, param string
	}{
		{"metadata=x", "parameter_invalid", "metadata"},
		{"metadata[a][b]=x", "parameter_invalid", "metadata[a][b]"},
		{"metadata[a]=x&metadata[a]=y", "parameter_invalid", "metadata[a]"},
		{"payment_method_types[0]=card", "parameter_invalid", "payment_method_types[0]"},
		{"line_items[]=x", "parameter_invalid", "line_items[]"},
		{"expires_in_hours=1.5", "parameter_invalid_type", "expires_in_hours"},
	} {
		var req adminv1.CreateCheckoutSessionRequest
		err := parseQuery(t, tc.query, &req, nil)
		if e, ok := errs.As(err); !ok || e.Code != tc.code || e.Param != tc.param {
			t.Errorf("Parse(%s) = %#v, want code %s, param %s", tc.query, err, tc.code, tc.param)
		}
	}
}

func TestQueryRejectsPathFields(t *testing.T) {
	filter := utilities.NewDoubleArray([][]string{{"id"}})
	var req adminv1.GetCheckoutSessionRequest
	err := parseQuery(t, "id=cs_other", &req, filter)
	if e, ok := errs.As(err); !ok || e.Code != "parameter_unknown" || e.Param != "id" {
		t.Errorf("Parse = %v, want parameter_unknown for id", err)
	}
}

func FuzzQueryParse(f *testing.F) {
	for _, s := range []string{"created[gte]=1700000000&limit=5", "metadata[a]=b", "payment_method_types[]=card",
		"a[b", "created[lt]=2024-01-16T10:00:00Z", "limit=&x=", "created.gte[]=1", "expires_at=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		values, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		for _, m := range []proto.Message{&adminv1.ListCheckoutSessionsRequest{}, &adminv1.CreateCheckoutSessionRequest{}} {
			err := QueryParser{}.Parse(m, values, nil)
			if err == nil {
				if _, err := proto.Marshal(m); err != nil {
					t.Fatalf("Parse(%q) built a message that does not marshal: %v", query, err)
				}
				continue
			}
			if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid || e.Code == "" {
				t.Fatalf("Parse(%q) = %v, want an Invalid *errs.Error", query, err)
			}
		}
	})
}
