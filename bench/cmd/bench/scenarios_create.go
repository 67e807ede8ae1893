package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// createBody is the session every create scenario makes: 3 line items and
// metadata, as a merchant's server sends it.
func createBody() map[string]any {
	return map[string]any{
		"line_items": []map[string]any{
			{"name": "Tea", "unit_amount": 450, "quantity": 3},
			{"name": "Cup", "unit_amount": 1299, "quantity": 1},
			{"name": "Honey", "unit_amount": 650, "quantity": 2},
		},
		"currency":    "EUR",
		"success_url": "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url":  "https://shop.example/cart",
		"metadata":    map[string]string{"order": "1234", "channel": "bench"},
	}
}

// createJSON is createBody encoded once.
func createJSON() []byte {
	b, _ := json.Marshal(createBody())
	return b
}

// apiClient calls the merchant API with the demo key.
type apiClient struct {
	st   stackInfo
	http *http.Client
}

func (a apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.st.AdminAPIURL+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.st.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %.200s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// session is the part of a created session the benchmark uses.
type session struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

func (a apiClient) createSession(ctx context.Context, body []byte) (session, error) {
	var s session
	err := a.do(ctx, http.MethodPost, "/v1/checkouts/"+a.st.SiteID+"/create", body, &s)
	return s, err
}

// restCreate is scenario 1's call.
func restCreate(a apiClient) call {
	body, _ := json.Marshal(createBody())
	return func(ctx context.Context) error {
		return a.do(ctx, http.MethodPost, "/v1/checkouts/"+a.st.SiteID+"/create", body, nil)
	}
}

// catalogCreate is scenario 1's catalog row: the same basket as createBody
// made from three catalog prices, with a 10 % coupon (no redemption limit)
// applied, so that each creation resolves the prices and reserves a
// redemption of the coupon. It creates the products, prices and coupon.
func catalogCreate(ctx context.Context, a apiClient) (call, error) {
	var items []map[string]any
	for _, it := range createBody()["line_items"].([]map[string]any) {
		var prod, price struct {
			ID string `json:"id"`
		}
		b, _ := json.Marshal(map[string]any{"name": it["name"]})
		if err := a.do(ctx, http.MethodPost, "/v1/products", b, &prod); err != nil {
			return nil, fmt.Errorf("product: %w", err)
		}
		b, _ = json.Marshal(map[string]any{"product": prod.ID, "currency": "EUR", "unit_amount": it["unit_amount"]})
		if err := a.do(ctx, http.MethodPost, "/v1/prices", b, &price); err != nil {
			return nil, fmt.Errorf("price: %w", err)
		}
		items = append(items, map[string]any{"price_id": price.ID, "quantity": it["quantity"]})
	}
	coupon := "BENCH" + strconv.FormatInt(time.Now().UnixNano(), 36)
	b, _ := json.Marshal(map[string]any{"id": coupon, "percent_off": 10, "duration": "once"})
	if err := a.do(ctx, http.MethodPost, "/v1/coupons", b, nil); err != nil {
		return nil, fmt.Errorf("coupon: %w", err)
	}
	body := createBody()
	body["line_items"], body["coupon_id"] = items, coupon
	delete(body, "currency") // the prices' currency
	raw, _ := json.Marshal(body)
	return func(ctx context.Context) error {
		return a.do(ctx, http.MethodPost, "/v1/checkouts/"+a.st.SiteID+"/create", raw, nil)
	}, nil
}

// grpcCreate is scenario 2's call, on one HTTP/2 connection per conns.
func grpcCreate(st stackInfo, conns int) (call, func(), error) {
	var clients []adminv1.CheckoutSessionServiceClient
	var ccs []*grpc.ClientConn
	for range conns {
		cc, err := grpc.NewClient(st.AdminGRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, nil, err
		}
		ccs = append(ccs, cc)
		clients = append(clients, adminv1.NewCheckoutSessionServiceClient(cc))
	}
	closeAll := func() {
		for _, cc := range ccs {
			cc.Close()
		}
	}
	md := metadata.Pairs("authorization", "Bearer "+st.SecretKey)
	var next atomic.Uint64
	return func(ctx context.Context) error {
		c := clients[next.Add(1)%uint64(len(clients))]
		_, err := c.CreateCheckoutSession(metadata.NewOutgoingContext(ctx, md), &adminv1.CreateCheckoutSessionRequest{
			SiteId: st.SiteID,
			LineItems: []*adminv1.LineItemParams{
				{Name: "Tea", UnitAmount: 450, Quantity: 3},
				{Name: "Cup", UnitAmount: 1299, Quantity: 1},
				{Name: "Honey", UnitAmount: 650, Quantity: 2},
			},
			Currency:   "EUR",
			SuccessUrl: "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
			CancelUrl:  "https://shop.example/cart",
			Metadata:   map[string]string{"order": "1234", "channel": "bench"},
		})
		return err
	}, closeAll, nil
}

// scratchTable is where the database baseline inserts: a copy of
// admin.checkout_sessions' columns, defaults and indexes (not its foreign
// keys, which LIKE never copies), dropped when the run ends.
const scratchTable = "bench_scratch.checkout_sessions"

// pgxInsert is scenario 1's baseline: one INSERT of the session's row.
func pgxInsert(ctx context.Context, st stackInfo, conns int) (call, func(), error) {
	cfg, err := pgxpool.ParseConfig(st.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	cfg.MaxConns = int32(conns)
	cfg.MinConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	for _, q := range []string{
		"DROP SCHEMA IF EXISTS bench_scratch CASCADE",
		"CREATE SCHEMA bench_scratch",
		"CREATE TABLE " + scratchTable + " (LIKE admin.checkout_sessions INCLUDING ALL)",
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	cleanup := func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS bench_scratch CASCADE")
		pool.Close()
	}
	items, _ := json.Marshal([]map[string]any{
		{"name": "Tea", "unit_amount": 450, "quantity": 3, "amount_total": 1350},
		{"name": "Cup", "unit_amount": 1299, "quantity": 1, "amount_total": 1299},
		{"name": "Honey", "unit_amount": 650, "quantity": 2, "amount_total": 1300},
	})
	meta, _ := json.Marshal(map[string]string{"order": "1234", "channel": "bench"})
	const insert = `INSERT INTO ` + scratchTable + ` (id, organization_id, site_id, livemode, status, payment_status,
		currency, amount_subtotal, amount_tax, amount_total, line_items, success_url, cancel_url, metadata,
		reference, payment_method_types, locale, expires_at)
		VALUES ($1, $2, $3, false, 'open', 'unpaid', 'EUR', 3949, 0, 3949, $4, $5, $6, $7, $8, $9, 'auto', $10)`
	var seq atomic.Int64
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	return func(ctx context.Context) error {
		n := strconv.FormatInt(seq.Add(1), 36)
		_, err := pool.Exec(ctx, insert, "cs_bench_"+run+"_"+n, st.OrganizationID, st.SiteID, items,
			"https://shop.example/success?session_id={CHECKOUT_SESSION_ID}", "https://shop.example/cart", meta,
			"B-"+run+"-"+n, []string{"card", "bank_transfer"}, time.Now().Add(24*time.Hour))
		return err
	}, cleanup, nil
}
