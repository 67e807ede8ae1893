package dashboard_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// TestAmountsInTheLanguage: every page shows amounts as its language writes
// them (CLDR's pattern, by money.Format, as on the hosted page): the symbol
// before the digits in English, after them in French, with the language's
// separators, on the lists, the detail pages, the billing pages, the
// catalog and the overview. A price of €617.28 sold twice, paid.
func TestAmountsInTheLanguage(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime()
	price := e.monthlyPrice(61728)
	sub := e.subscribe(rt, price, "ada@example.com")
	ctx := e.as(e.orgA, false)
	p, err := adminv1.NewPriceServiceClient(e.conn.Inline).GetPrice(ctx, &adminv1.GetPriceRequest{Id: price})
	if err != nil {
		t.Fatal(err)
	}
	list, err := adminv1.NewCheckoutSessionServiceClient(e.conn.Inline).ListCheckoutSessions(ctx, &adminv1.ListCheckoutSessionsRequest{})
	if err != nil || len(list.GetData()) != 1 {
		t.Fatalf("the subscription's checkout: %v %v", list, err)
	}
	s, err := adminv1.NewSubscriptionServiceClient(e.conn.Inline).GetSubscription(ctx, &adminv1.GetSubscriptionRequest{Id: sub})
	if err != nil {
		t.Fatal(err)
	}
	session, invoice := list.GetData()[0].GetId(), s.GetSubscription().GetLatestInvoice()

	b := e.browser()
	b.login(e.users["owner"])
	for _, c := range []struct {
		lang         string
		total, price string
	}{
		{"en", "€1,234.56", "€617.28"},
		{"fr", "1\u00a0234,56\u00a0€", "617,28\u00a0€"},
	} {
		b.get("/dashboard/lang?to=" + c.lang + "&back=%2Fdashboard")
		for path, wants := range map[string][]string{
			"/dashboard/overview":                                      {`class="num">` + c.total + `</td>`},
			"/dashboard/checkouts":                                     {`class="num">` + c.total + `</td>`},
			"/dashboard/checkouts/" + session:                          {`id="total">` + c.total + `<`, `<small>` + c.price + `</small>`},
			"/dashboard/subscriptions/" + sub:                          {`id="period-amount">` + c.total + ` <small`},
			"/dashboard/invoices":                                      {`class="num">` + c.total + `</td>`},
			"/dashboard/invoices/" + invoice:                           {`id="subtotal">` + c.total + `<`, `<small>` + c.price + `</small>`},
			"/dashboard/catalog/products/" + p.GetPrice().GetProduct(): {`class="num">` + c.price + `</td>`},
		} {
			status, _, page := b.get(path)
			if status != http.StatusOK || !strings.Contains(page, `lang="`+c.lang+`"`) {
				t.Fatalf("%s in %s: %d", path, c.lang, status)
			}
			contains(t, path+" in "+c.lang, page, wants...)
		}
		// The CSV export is for machines: plain decimals in any language.
		resp, err := b.c.Get(e.url + "/dashboard/checkouts/export.csv")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(resp.Body).ReadAll()
		resp.Body.Close()
		if err != nil || len(rows) != 2 || rows[1][7] != "1234.56" || rows[1][9] != "1234.56" {
			t.Errorf("the export in %s: %v %v, want amount_subtotal and amount_total 1234.56", c.lang, rows, err)
		}
	}
}
