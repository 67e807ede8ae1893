package tillpoint

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// CustomerService is /v1/customers.
type CustomerService struct{ c *Client }

// CustomerParams create a customer, or change the fields that are set.
type CustomerParams struct {
	Name     *string           `json:"name,omitempty"`
	Email    *string           `json:"email,omitempty"`
	Phone    *string           `json:"phone,omitempty"`
	Address  *Address          `json:"address,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// TestClock puts a new customer's subscriptions on a test clock
	// (test mode only).
	TestClock string `json:"test_clock,omitempty"`
}

// Create creates a customer.
func (s *CustomerService) Create(ctx context.Context, p *CustomerParams, opts ...RequestOption) (*Customer, error) {
	var out Customer
	return &out, s.c.do(ctx, "POST", "/v1/customers", nil, p, &out, opts)
}

// Get retrieves a customer.
func (s *CustomerService) Get(ctx context.Context, customerID string, opts ...RequestOption) (*Customer, error) {
	var out Customer
	return &out, s.c.do(ctx, "GET", "/v1/customers/"+id(customerID), nil, nil, &out, opts)
}

// Update changes the fields of p that are set.
func (s *CustomerService) Update(ctx context.Context, customerID string, p *CustomerParams, opts ...RequestOption) (*Customer, error) {
	var out Customer
	return &out, s.c.do(ctx, "POST", "/v1/customers/"+id(customerID), nil, p, &out, opts)
}

// Delete deletes a customer.
func (s *CustomerService) Delete(ctx context.Context, customerID string, opts ...RequestOption) (*Deleted, error) {
	var out Deleted
	return &out, s.c.do(ctx, "DELETE", "/v1/customers/"+id(customerID), nil, nil, &out, opts)
}

// List returns one page of customers, newest first.
func (s *CustomerService) List(ctx context.Context, p *ListParams, opts ...RequestOption) (*List[Customer], error) {
	return listPage[Customer](ctx, s.c, "/v1/customers", p.orZero().values(), opts)
}

// All yields every customer.
func (s *CustomerService) All(ctx context.Context, p *ListParams, opts ...RequestOption) iter.Seq2[Customer, error] {
	return all[Customer](ctx, s.c, "/v1/customers", p.orZero().values(), opts)
}

// ProductService is /v1/products.
type ProductService struct{ c *Client }

// ProductParams create a product, or change the fields that are set.
type ProductParams struct {
	Name        *string           `json:"name,omitempty"`
	Description *string           `json:"description,omitempty"`
	Images      []string          `json:"images,omitempty"`
	Active      *bool             `json:"active,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// Create creates a product.
func (s *ProductService) Create(ctx context.Context, p *ProductParams, opts ...RequestOption) (*Product, error) {
	var out Product
	return &out, s.c.do(ctx, "POST", "/v1/products", nil, p, &out, opts)
}

// Get retrieves a product.
func (s *ProductService) Get(ctx context.Context, productID string, opts ...RequestOption) (*Product, error) {
	var out Product
	return &out, s.c.do(ctx, "GET", "/v1/products/"+id(productID), nil, nil, &out, opts)
}

// Update changes the fields of p that are set.
func (s *ProductService) Update(ctx context.Context, productID string, p *ProductParams, opts ...RequestOption) (*Product, error) {
	var out Product
	return &out, s.c.do(ctx, "POST", "/v1/products/"+id(productID), nil, p, &out, opts)
}

// List returns one page of products, newest first.
func (s *ProductService) List(ctx context.Context, p *ListParams, opts ...RequestOption) (*List[Product], error) {
	return listPage[Product](ctx, s.c, "/v1/products", p.orZero().values(), opts)
}

// All yields every product.
func (s *ProductService) All(ctx context.Context, p *ListParams, opts ...RequestOption) iter.Seq2[Product, error] {
	return all[Product](ctx, s.c, "/v1/products", p.orZero().values(), opts)
}

// PriceService is /v1/prices.
type PriceService struct{ c *Client }

// PriceParams create a price. A price's product, currency, amount and
// recurrence never change: Update takes Active, Nickname and Metadata.
type PriceParams struct {
	Product    string            `json:"product,omitempty"`
	Currency   string            `json:"currency,omitempty"`
	UnitAmount *int64            `json:"unit_amount,omitempty"`
	Recurring  *Recurring        `json:"recurring,omitempty"`
	Nickname   *string           `json:"nickname,omitempty"`
	Active     *bool             `json:"active,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// PriceListParams filter a list of prices.
type PriceListParams struct {
	ListParams
	Product string
	Active  *bool
	Type    string
}

func (p *PriceListParams) values() url.Values {
	if p == nil {
		return url.Values{}
	}
	v := p.ListParams.values()
	set(v, "product", p.Product)
	set(v, "type", p.Type)
	if p.Active != nil {
		v.Set("active", strconv.FormatBool(*p.Active))
	}
	return v
}

// Create creates a price.
func (s *PriceService) Create(ctx context.Context, p *PriceParams, opts ...RequestOption) (*Price, error) {
	var out Price
	return &out, s.c.do(ctx, "POST", "/v1/prices", nil, p, &out, opts)
}

// Get retrieves a price.
func (s *PriceService) Get(ctx context.Context, priceID string, opts ...RequestOption) (*Price, error) {
	var out Price
	return &out, s.c.do(ctx, "GET", "/v1/prices/"+id(priceID), nil, nil, &out, opts)
}

// Update changes the fields of p that are set (Active, Nickname, Metadata).
func (s *PriceService) Update(ctx context.Context, priceID string, p *PriceParams, opts ...RequestOption) (*Price, error) {
	var out Price
	return &out, s.c.do(ctx, "POST", "/v1/prices/"+id(priceID), nil, p, &out, opts)
}

// List returns one page of prices, newest first.
func (s *PriceService) List(ctx context.Context, p *PriceListParams, opts ...RequestOption) (*List[Price], error) {
	return listPage[Price](ctx, s.c, "/v1/prices", p.values(), opts)
}

// All yields every price that matches p.
func (s *PriceService) All(ctx context.Context, p *PriceListParams, opts ...RequestOption) iter.Seq2[Price, error] {
	return all[Price](ctx, s.c, "/v1/prices", p.values(), opts)
}
