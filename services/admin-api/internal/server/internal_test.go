package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/sweeper"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
)

const token = "internal-token-internal-token-internal-token"

// serveGRPC serves srv on loopback and returns a client connection.
func serveGRPC(t *testing.T, srv *grpc.Server, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func (e *env) internalClient(tok string) internalapiv1.SessionServiceClient {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	conn := serveGRPC(e.t, NewInternal(e.store, logger, checkoutBase, []string{token}, e.keys), grpc.WithPerRPCCredentials(grpcx.InternalToken(tok)))
	return internalapiv1.NewSessionServiceClient(conn)
}

func (e *env) newSession() (id string, total int64) {
	e.t.Helper()
	status, s := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, validSession())
	if status != http.StatusCreated {
		e.t.Fatalf("create: %d %v", status, s)
	}
	return s["id"].(string), int64(s["amount_subtotal"].(float64))
}

func reason(err error) (codes.Code, string) {
	st := status.Convert(err)
	for _, d := range st.Details() {
		if info, ok := d.(interface{ GetReason() string }); ok {
			return st.Code(), info.GetReason()
		}
	}
	return st.Code(), ""
}

func TestInternalAPIRequiresToken(t *testing.T) {
	e := newEnv(t)
	_, err := e.internalClient("wrong-token-wrong-token-wrong-token!").GetCheckout(context.Background(), &internalapiv1.GetCheckoutRequest{SessionId: "cs_x"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestCompleteSession(t *testing.T) {
	e := newEnv(t)
	c := e.internalClient(token)
	ctx := context.Background()
	id, subtotal := e.newSession()

	got, err := c.GetCheckout(ctx, &internalapiv1.GetCheckoutRequest{SessionId: id})
	if err != nil || got.GetSite().GetId() != e.siteA || got.GetCheckoutSession().GetId() != id || got.GetOrganizationId() != e.orgA {
		t.Fatalf("GetCheckout: %v %v", got, err)
	}
	// Totals must add up; a mismatch changes nothing.
	_, err = c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id, PaymentId: "pay_1", Paid: true, AmountTax: 100, AmountTotal: subtotal})
	if code, _ := reason(err); code != codes.InvalidArgument {
		t.Fatalf("bad total: %v", err)
	}
	done, err := c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id, PaymentId: "pay_1", Paid: true, AmountTax: 100, AmountTotal: subtotal + 100})
	cs := done.GetCheckoutSession()
	if err != nil || cs.GetStatus() != "complete" || cs.GetPaymentStatus() != "paid" || cs.GetPayment() != "pay_1" || cs.GetAmountTotal() != subtotal+100 {
		t.Fatalf("complete: %v %v", cs, err)
	}
	// The same call again is answered alike; another payment is refused.
	if again, err := c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id, PaymentId: "pay_1", Paid: true, AmountTax: 100, AmountTotal: subtotal + 100}); err != nil || !proto.Equal(again.GetCheckoutSession(), cs) {
		t.Fatalf("retry: %v", err)
	}
	_, err = c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id, PaymentId: "pay_2", Paid: true, AmountTotal: subtotal})
	if code, r := reason(err); code != codes.FailedPrecondition || r != "checkout_session_not_open" {
		t.Fatalf("second payment: %v", err)
	}
	if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = 'events.checkout.session.completed'"); n != 1 {
		t.Fatalf("%d completed events, want 1", n)
	}
	// Merchants see it through the API.
	_, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if s["status"] != "complete" || s["payment"] != "pay_1" {
		t.Fatalf("merchant view: %v", s)
	}
	if _, list := e.do("GET", "/v1/checkout/sessions?payment=pay_1", e.keyA, nil); len(list["data"].([]any)) != 1 {
		t.Fatalf("payment filter: %v", list)
	}
}

func TestExpiredSessionRefusesPayment(t *testing.T) {
	e := newEnv(t)
	c := e.internalClient(token)
	id, subtotal := e.newSession()
	if _, err := e.pool.Exec(context.Background(), "UPDATE admin.checkout_sessions SET expires_at = now() - interval '1 second' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	_, err := c.CompleteSession(context.Background(), &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id, PaymentId: "pay_1", Paid: true, AmountTotal: subtotal})
	if code, r := reason(err); code != codes.FailedPrecondition || r != "checkout_session_expired" {
		t.Fatalf("past expires_at: %v", err)
	}
	// The sweeper expires it with its event.
	sw := &sweeper.Sweeper{Store: e.store, CheckoutBase: checkoutBase}
	if n, err := sw.ExpireDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweeper expired %d, %v", n, err)
	}
	_, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if s["status"] != "expired" || e.count("SELECT count(*) FROM admin.outbox WHERE subject = 'events.checkout.session.expired'") != 1 {
		t.Fatalf("after sweep: %v", s["status"])
	}
	if n, _ := sw.ExpireDue(context.Background()); n != 0 {
		t.Fatalf("second sweep expired %d", n)
	}
}

func TestExpireAndCompleteRace(t *testing.T) {
	e := newEnv(t)
	c := e.internalClient(token)
	const rounds = 20
	wins := map[string]int{}
	for range rounds {
		id, subtotal := e.newSession()
		var wg sync.WaitGroup
		var expired, completed bool
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			status, _ := e.do("POST", "/v1/checkout/sessions/"+id+"/expire", e.keyA, nil)
			expired = status == http.StatusOK
		}()
		go func() {
			defer wg.Done()
			<-start
			_, err := c.CompleteSession(context.Background(), &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id, PaymentId: "pay_" + id[3:], Paid: true, AmountTotal: subtotal})
			completed = err == nil
		}()
		close(start)
		wg.Wait()
		if expired == completed {
			t.Fatalf("%s: expired=%v completed=%v; exactly one must win", id, expired, completed)
		}
		_, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
		if (expired && s["status"] != "expired") || (completed && s["status"] != "complete") {
			t.Fatalf("%s: final status %v disagrees with the winner", id, s["status"])
		}
		wins[s["status"].(string)]++
	}
	if n := e.count("SELECT count(*) FROM admin.outbox"); n != rounds {
		t.Fatalf("%d events for %d sessions, want exactly one each", n, rounds)
	}
	t.Logf("winners: %v", wins)
}

func TestAsyncPayment(t *testing.T) {
	e := newEnv(t)
	c := e.internalClient(token)
	ctx := context.Background()
	for _, succeeded := range []bool{true, false} {
		id, subtotal := e.newSession()
		if _, err := c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id, PaymentId: "pay_bt", Paid: false, AmountTotal: subtotal}); err != nil {
			t.Fatal(err)
		}
		_, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
		if s["status"] != "complete" || s["payment_status"] != "unpaid" {
			t.Fatalf("bank transfer: %v", s)
		}
		if _, err := c.RecordAsyncPayment(ctx, &internalapiv1.RecordAsyncPaymentRequest{SessionId: id, PaymentId: "pay_other", Succeeded: succeeded}); status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("another payment's result: %v", err)
		}
		for range 2 { // a repeated callback has no second effect
			r, err := c.RecordAsyncPayment(ctx, &internalapiv1.RecordAsyncPaymentRequest{SessionId: id, PaymentId: "pay_bt", Succeeded: succeeded})
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]string{true: "paid", false: "unpaid"}[succeeded]
			if r.GetCheckoutSession().GetPaymentStatus() != want {
				t.Fatalf("succeeded=%v: payment_status %q", succeeded, r.GetCheckoutSession().GetPaymentStatus())
			}
		}
	}
	for _, typ := range []string{"succeeded", "failed"} {
		if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = 'events.checkout.session.async_payment_" + typ + "'"); n != 1 {
			t.Fatalf("%d async_payment_%s events, want 1", n, typ)
		}
	}
}

func TestMerchantAPIOverGRPC(t *testing.T) {
	e := newEnv(t)
	conn := serveGRPC(t, e.api.GRPC)
	client := adminv1.NewCheckoutSessionServiceClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+e.keyA)
	created, err := client.CreateCheckoutSession(ctx, &adminv1.CreateCheckoutSessionRequest{SiteId: e.siteA, Amount: proto.Int64(5000),
		SuccessUrl: "https://shop.example/ok", CancelUrl: "https://shop.example/no"})
	if err != nil || created.GetCheckoutSession().GetAmountTotal() != 5000 {
		t.Fatalf("create over gRPC: %v %v", created, err)
	}
	got, err := client.GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: created.GetCheckoutSession().GetId()})
	if err != nil || !proto.Equal(got.GetCheckoutSession(), created.GetCheckoutSession()) {
		t.Fatalf("get over gRPC: %v", err)
	}
	_, err = client.CreateCheckoutSession(ctx, &adminv1.CreateCheckoutSessionRequest{SiteId: e.siteA})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("invalid over gRPC: %v", err)
	}
	_, err = client.GetCheckoutSession(context.Background(), &adminv1.GetCheckoutSessionRequest{Id: "cs_x"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no key over gRPC: %v", err)
	}
}
