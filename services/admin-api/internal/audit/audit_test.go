package audit

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/bootstrap"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/admin-api/migrations"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// TestEveryMutatingMethodIsClassified: a method added to the merchant API
// that is not a Get or a List must say how it is audited, so that a new
// write cannot go unrecorded by oversight.
func TestEveryMutatingMethodIsClassified(t *testing.T) {
	seen := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("tillpoint.admin.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			svc := fd.Services().Get(i)
			for j := range svc.Methods().Len() {
				m := svc.Methods().Get(j)
				name := string(m.Name())
				if strings.HasPrefix(name, "Get") && name != "GetNotifySecret" || strings.HasPrefix(name, "List") {
					continue
				}
				seen++
				if _, ok := methods["/"+string(svc.FullName())+"/"+name]; !ok {
					t.Errorf("%s.%s is not in the audit table", svc.FullName(), name)
				}
			}
		}
		return true
	})
	if seen < 17 {
		t.Fatalf("only %d mutating methods found: the registry is not loaded", seen)
	}
}

// TestRule: configuration changes are recorded for keys and users, money
// and delivery actions for users only, reads never.
func TestRule(t *testing.T) {
	key, user := auth.Principal{OrganizationID: "org_1", KeyID: "key_1"}, auth.Principal{OrganizationID: "org_1", UserID: "usr_1"}
	cases := []struct {
		method   string
		byKey    bool
		byUser   bool
		asAction string
	}{
		{adminv1.ApiKeyService_CreateApiKey_FullMethodName, true, true, "api_key.create"},
		{adminv1.WebhookEndpointService_UpdateWebhookEndpoint_FullMethodName, true, true, "webhook_endpoint.update"},
		{adminv1.FeeScheduleService_UpdateFeeSchedule_FullMethodName, true, true, "fee_schedule.update"},
		{adminv1.CheckoutSessionService_CreateCheckoutSession_FullMethodName, false, true, "checkout_session.create"},
		{adminv1.RefundService_CreateRefund_FullMethodName, false, true, "refund.create"},
		{adminv1.CheckoutSessionService_ListCheckoutSessions_FullMethodName, false, false, ""},
		{adminv1.WebhookEndpointService_GetNotifySecret_FullMethodName, false, false, ""},
	}
	for _, c := range cases {
		if _, got := Recorded(c.method, key); got != c.byKey {
			t.Errorf("%s by a key recorded: %v, want %v", c.method, got, c.byKey)
		}
		action, got := Recorded(c.method, user)
		if got != c.byUser || action != c.asAction {
			t.Errorf("%s by a user: %q %v, want %q %v", c.method, action, got, c.asAction, c.byUser)
		}
	}
	if a := Actions(); !slices.IsSorted(a) || !slices.Contains(a, "team.invite") || !slices.Contains(a, "refund.create") {
		t.Errorf("Actions() = %v", a)
	}
}

// TestTargetAndDetail: the target is the request's id, else the created
// object's; the detail names fields and keeps only harmless values.
func TestTargetAndDetail(t *testing.T) {
	rotate := &adminv1.RotateWebhookEndpointSecretRequest{Id: "we_1"}
	if got := targetID(rotate, &adminv1.RotateWebhookEndpointSecretResponse{WebhookEndpoint: &adminv1.WebhookEndpoint{Id: "we_1"}}); got != "we_1" {
		t.Errorf("rotate target %q", got)
	}
	create := &adminv1.CreateWebhookEndpointRequest{Url: "https://user:pass@shop.example/hook", EnabledEvents: []string{"*"}}
	if got := targetID(create, &adminv1.CreateWebhookEndpointResponse{WebhookEndpoint: &adminv1.WebhookEndpoint{Id: "we_2", Secret: proto.String("whsec_x")}}); got != "we_2" {
		t.Errorf("create target %q", got)
	}
	if got := targetID(&adminv1.UpdateFeeScheduleRequest{}, &adminv1.UpdateFeeScheduleResponse{}); got != "" {
		t.Errorf("fee schedule target %q", got)
	}
	if got := targetID(&adminv1.DeleteProviderAccountRequest{Id: "pa_1"}, nil); got != "pa_1" {
		t.Errorf("delete target %q", got)
	}
	d, err := json.Marshal(requestDetail(create))
	if err != nil {
		t.Fatal(err)
	}
	if string(d) != `{"fields":["enabled_events","url"]}` {
		t.Errorf("detail %s", d)
	}
	refund := &adminv1.CreateRefundRequest{Payment: "pay_1", Amount: proto.Int64(500), Reason: "duplicate", Metadata: map[string]string{"note": "x"}}
	d, _ = json.Marshal(requestDetail(refund))
	if string(d) != `{"amount":500,"fields":["amount","metadata","payment","reason"],"payment":"pay_1","reason":"duplicate"}` {
		t.Errorf("refund detail %s", d)
	}
	pa := &adminv1.CreateProviderAccountRequest{Provider: "stripe", Credentials: &adminv1.ProviderCredentialsInput{SecretKey: "sk_live_secret"}}
	if d, _ := json.Marshal(requestDetail(pa)); strings.Contains(string(d), "sk_live_secret") {
		t.Errorf("a credential reached the detail: %s", d)
	}
}

// TestInterceptor: a call the handler did not record in a transaction (one
// forwarded to another service) is recorded after it succeeds, with its
// actor, target and address; a failed call (also one whose transaction
// rolled back after Record) and a refund by an API key add nothing, and a
// handler that recorded in its transaction is not recorded twice.
func TestInterceptor(t *testing.T) {
	ctx := context.Background()
	st := store.New(testkit.NewDatabase(t, migrations.Set))
	org, err := bootstrap.CreateOrganization(ctx, st, "Org")
	if err != nil {
		t.Fatal(err)
	}
	l := &Log{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	p := auth.Principal{OrganizationID: org.ID, UserID: "usr_1", UserEmail: "ann@example.com", ClientAddr: netip.MustParseAddr("192.0.2.7")}
	call := func(method string, p auth.Principal, req proto.Message, handler grpc.UnaryHandler) error {
		_, err := l.Unary(auth.WithPrincipal(ctx, p), req, &grpc.UnaryServerInfo{FullMethod: method}, handler)
		return err
	}
	refunded := func(context.Context, any) (any, error) {
		return &adminv1.CreateRefundResponse{Refund: &adminv1.Refund{Id: "re_1"}}, nil
	}
	refund := &adminv1.CreateRefundRequest{Payment: "pay_1", Amount: proto.Int64(300)}
	if err := call(adminv1.RefundService_CreateRefund_FullMethodName, p, refund, refunded); err != nil {
		t.Fatal(err)
	}
	failed := func(context.Context, any) (any, error) { return nil, errs.NotFoundf("payment", "No such payment.") }
	if err := call(adminv1.RefundService_CreateRefund_FullMethodName, p, refund, failed); err == nil {
		t.Fatal("the failed call succeeded")
	}
	key := auth.Principal{OrganizationID: org.ID, KeyID: "key_1"}
	if err := call(adminv1.RefundService_CreateRefund_FullMethodName, key, refund, refunded); err != nil {
		t.Fatal(err)
	}
	inTx := func(ctx context.Context, _ any) (any, error) {
		resp := &adminv1.RevokeApiKeyResponse{ApiKey: &adminv1.ApiKey{Id: "key_9"}}
		return resp, st.InTx(ctx, func(tx pgx.Tx, _ *db.Queries) error { return Record(ctx, tx, resp) })
	}
	if err := call(adminv1.ApiKeyService_RevokeApiKey_FullMethodName, key, &adminv1.RevokeApiKeyRequest{Id: "key_9"}, inTx); err != nil {
		t.Fatal(err)
	}
	// Record writes in the handler's transaction: when a later step of it
	// fails, the entry goes with it.
	rolledBack := func(ctx context.Context, _ any) (any, error) {
		resp := &adminv1.RevokeApiKeyResponse{ApiKey: &adminv1.ApiKey{Id: "key_8"}}
		return nil, st.InTx(ctx, func(tx pgx.Tx, _ *db.Queries) error {
			if err := Record(ctx, tx, resp); err != nil {
				return err
			}
			return errs.E(errs.Internal, "later_step_failed", "A later step failed.")
		})
	}
	if err := call(adminv1.ApiKeyService_RevokeApiKey_FullMethodName, key, &adminv1.RevokeApiKeyRequest{Id: "key_8"}, rolledBack); err == nil {
		t.Fatal("the rolled-back call succeeded")
	}
	// A handler that retries its transaction records in each attempt; only
	// the committed one stays.
	retried := func(ctx context.Context, _ any) (any, error) {
		resp := &adminv1.CreateSiteResponse{Site: &adminv1.Site{Id: "site_7"}}
		for attempt := 1; ; attempt++ {
			err := st.InTx(ctx, func(tx pgx.Tx, _ *db.Queries) error {
				if err := Record(ctx, tx, resp); err != nil {
					return err
				}
				if attempt == 1 {
					return errs.E(errs.Conflict, "clash", "A clash; try again.")
				}
				return nil
			})
			if err == nil || attempt == 2 {
				return resp, err
			}
		}
	}
	if err := call(adminv1.SiteService_CreateSite_FullMethodName, key, &adminv1.CreateSiteRequest{Name: "S"}, retried); err != nil {
		t.Fatal(err)
	}
	rows, err := st.ListAuditEntries(ctx, db.ListAuditEntriesParams{OrganizationID: org.ID, RowLimit: 10,
		BeforeAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, strings.Join([]string{r.ActorKind, r.ActorID, deref(r.ActorEmail), r.Action, deref(r.TargetID), deref(r.ClientAddr)}, " "))
	}
	slices.Sort(got)
	want := []string{
		"api_key key_1  api_key.revoke key_9 ",
		"api_key key_1  site.create site_7 ",
		"user usr_1 ann@example.com refund.create re_1 192.0.2.7",
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
