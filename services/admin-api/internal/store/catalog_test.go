package store

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// catalogStore is newStore with a second organization, for the tenancy
// rules of the catalog queries.
func catalogStore(t *testing.T) *Store {
	t.Helper()
	s := newStore(t)
	if _, err := s.Pool.Exec(t.Context(), "INSERT INTO admin.organizations (id, name) VALUES ('org_2', 'Other')"); err != nil {
		t.Fatal(err)
	}
	return s
}

func newProduct(t *testing.T, s *Store, id, org string, live, active bool) db.AdminProduct {
	t.Helper()
	row, err := s.CreateProduct(t.Context(), db.CreateProductParams{ID: id, OrganizationID: org, Livemode: live, Name: "P " + id,
		Images: []string{}, Active: active, Metadata: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	return row
}

func newPrice(t *testing.T, s *Store, id, product, org string, live bool) (db.AdminPrice, error) {
	t.Helper()
	return s.CreatePrice(t.Context(), db.CreatePriceParams{ID: id, OrganizationID: org, Livemode: live, ProductID: product,
		Currency: "EUR", UnitAmount: 450, Type: "one_time", Active: true, Metadata: []byte(`{}`)})
}

// TestPriceQueriesStayInTheirTenant: a price can only be made for a product
// of its own organization and mode (the composite foreign key), and the
// session lookup returns only the caller's prices, with their products.
func TestPriceQueriesStayInTheirTenant(t *testing.T) {
	s := catalogStore(t)
	ctx := t.Context()
	newProduct(t, s, "prod_a", "org_1", false, true)
	newProduct(t, s, "prod_live", "org_1", true, true)
	if _, err := newPrice(t, s, "price_a", "prod_a", "org_1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := newPrice(t, s, "price_x", "prod_a", "org_2", false); err == nil {
		t.Errorf("a price of org_2 for org_1's product was stored")
	}
	if _, err := newPrice(t, s, "price_y", "prod_live", "org_1", false); err == nil {
		t.Errorf("a test-mode price for a live product was stored")
	}
	rows, err := s.GetPricesForLineItems(ctx, db.GetPricesForLineItemsParams{Ids: []string{"price_a", "price_nope"}, OrganizationID: "org_1"})
	if err != nil || len(rows) != 1 || rows[0].AdminPrice.ID != "price_a" || rows[0].AdminProduct.ID != "prod_a" {
		t.Fatalf("own prices: %v %v", rows, err)
	}
	for _, p := range []db.GetPricesForLineItemsParams{{Ids: []string{"price_a"}, OrganizationID: "org_2"},
		{Ids: []string{"price_a"}, OrganizationID: "org_1", Livemode: true}} {
		if rows, err := s.GetPricesForLineItems(ctx, p); err != nil || len(rows) != 0 {
			t.Errorf("%+v sees %v (%v)", p, rows, err)
		}
	}
}

// TestPriceTermsAreImmutable: the database refuses a change of a price's
// amount, currency, product or recurrence, and allows the others.
func TestPriceTermsAreImmutable(t *testing.T) {
	s := catalogStore(t)
	newProduct(t, s, "prod_a", "org_1", false, true)
	newProduct(t, s, "prod_b", "org_1", false, true)
	if _, err := newPrice(t, s, "price_a", "prod_a", "org_1", false); err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"unit_amount = 1", "currency = 'USD'", "product_id = 'prod_b'",
		"type = 'recurring', recurring_interval = 'month', recurring_interval_count = 1"} {
		if _, err := s.Pool.Exec(t.Context(), "UPDATE admin.prices SET "+set+" WHERE id = 'price_a'"); err == nil {
			t.Errorf("SET %s was allowed", set)
		}
	}
	nick := "n"
	row, err := s.UpdatePrice(t.Context(), db.UpdatePriceParams{ID: "price_a", OrganizationID: "org_1", Active: false, Nickname: &nick, Metadata: []byte(`{"k":"v"}`)})
	if err != nil || row.Active || *row.Nickname != "n" || row.UnitAmount != 450 {
		t.Fatalf("allowed update: %+v %v", row, err)
	}
	if _, err := s.UpdatePrice(t.Context(), db.UpdatePriceParams{ID: "price_a", OrganizationID: "org_2", Metadata: []byte(`{}`)}); !IsNoRows(err) {
		t.Errorf("another organization updated the price: %v", err)
	}
}

// TestCustomerQueries: deleted customers are invisible to every read; lists
// page newest first in both directions and filter by email without case.
func TestCustomerQueries(t *testing.T) {
	s := catalogStore(t)
	ctx := t.Context()
	email := func(v string) *string { return &v }
	for i, c := range []struct {
		id, org string
		email   *string
	}{{"cus_1", "org_1", email("Ada@Example.com")}, {"cus_2", "org_1", nil}, {"cus_3", "org_1", email("ada@example.com")}, {"cus_4", "org_2", nil}} {
		if _, err := s.CreateCustomer(ctx, db.CreateCustomerParams{ID: c.id, OrganizationID: c.org, Email: c.email, Metadata: []byte(`{}`)}); err != nil {
			t.Fatal(i, err)
		}
	}
	ids := func(rows []db.AdminCustomer) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.ID)
		}
		return out
	}
	list := func(p db.ListCustomersParams) []string {
		p.OrganizationID, p.RowLimit = "org_1", 10
		rows, err := s.ListCustomers(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return ids(rows)
	}
	seq2, err := s.GetCustomerSeq(ctx, db.GetCustomerSeqParams{ID: "cus_2", OrganizationID: "org_1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		p    db.ListCustomersParams
		want []string
	}{
		"all":          {db.ListCustomersParams{}, []string{"cus_3", "cus_2", "cus_1"}},
		"before cus_2": {db.ListCustomersParams{BeforeSeq: &seq2}, []string{"cus_1"}},
		"after cus_2":  {db.ListCustomersParams{AfterSeq: &seq2}, []string{"cus_3"}},
		"email":        {db.ListCustomersParams{Email: email("ADA@example.COM")}, []string{"cus_3", "cus_1"}},
	} {
		if got := list(c.p); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
	if n, err := s.DeleteCustomer(ctx, db.DeleteCustomerParams{ID: "cus_4", OrganizationID: "org_1"}); err != nil || n != 0 {
		t.Errorf("org_1 deleted org_2's customer: %d %v", n, err)
	}
	if n, err := s.DeleteCustomer(ctx, db.DeleteCustomerParams{ID: "cus_1", OrganizationID: "org_1"}); err != nil || n != 1 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if got := list(db.ListCustomersParams{}); !slices.Equal(got, []string{"cus_3", "cus_2"}) {
		t.Errorf("list after delete: %v", got)
	}
	if _, err := s.GetCustomer(ctx, db.GetCustomerParams{ID: "cus_1", OrganizationID: "org_1"}); !IsNoRows(err) {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := s.GetCustomerSeq(ctx, db.GetCustomerSeqParams{ID: "cus_1", OrganizationID: "org_1"}); !IsNoRows(err) {
		t.Errorf("a deleted customer is still a cursor: %v", err)
	}
	if _, err := s.UpdateCustomer(ctx, db.UpdateCustomerParams{ID: "cus_1", OrganizationID: "org_1", Metadata: []byte(`{}`)}); !IsNoRows(err) {
		t.Errorf("update after delete: %v", err)
	}
}

// TestProductAndPriceListFilters: the optional filters of the list queries.
func TestProductAndPriceListFilters(t *testing.T) {
	s := catalogStore(t)
	ctx := t.Context()
	newProduct(t, s, "prod_a", "org_1", false, true)
	newProduct(t, s, "prod_b", "org_1", false, false)
	if _, err := newPrice(t, s, "price_a", "prod_a", "org_1", false); err != nil {
		t.Fatal(err)
	}
	month, one := "month", int32(1)
	if _, err := s.CreatePrice(ctx, db.CreatePriceParams{ID: "price_r", OrganizationID: "org_1", ProductID: "prod_b", Currency: "EUR",
		UnitAmount: 900, Type: "recurring", RecurringInterval: &month, RecurringIntervalCount: &one, Active: false, Metadata: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePrice(ctx, db.CreatePriceParams{ID: "price_bad", OrganizationID: "org_1", ProductID: "prod_b", Currency: "EUR",
		UnitAmount: 900, Type: "recurring", Active: true, Metadata: []byte(`{}`)}); err == nil {
		t.Errorf("a recurring price without its interval was stored")
	}
	prod, rec := "prod_b", "recurring"
	for name, c := range map[string]struct {
		p    db.ListPricesParams
		want []string
	}{
		"all":       {db.ListPricesParams{}, []string{"price_r", "price_a"}},
		"product":   {db.ListPricesParams{ProductID: &prod}, []string{"price_r"}},
		"active":    {db.ListPricesParams{Active: pgtype.Bool{Bool: true, Valid: true}}, []string{"price_a"}},
		"recurring": {db.ListPricesParams{Type: &rec}, []string{"price_r"}},
	} {
		c.p.OrganizationID, c.p.RowLimit = "org_1", 10
		rows, err := s.ListPrices(ctx, c.p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("prices %s: %v, want %v", name, got, c.want)
		}
	}
	rows, err := s.ListProducts(ctx, db.ListProductsParams{OrganizationID: "org_1", Active: pgtype.Bool{Bool: false, Valid: true}, RowLimit: 10})
	if err != nil || len(rows) != 1 || rows[0].ID != "prod_b" {
		t.Errorf("archived products: %v %v", rows, err)
	}
}
