package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// catalogPerPage is how many objects a catalog list shows at a time.
const catalogPerPage = 50

// catalogView is the data of the catalog's pages (Catalog → Products,
// Customers, Discounts): the objects of the page, the create forms' values
// as typed and their error, and whether the user may change anything.
type catalogView struct {
	CanManage bool
	// Form holds what a refused form had, shown again; Error says why.
	Form  url.Values
	Error string
	// Notice is a catalog key of a confirmation ("cat.saved").
	Notice         string
	IdempotencyKey string
	// After is the last object shown when there are more (the Older link);
	// Query the list's filter.
	After, Query string

	Products  []*adminv1.Product
	Product   *adminv1.Product
	Prices    []*adminv1.Price
	Customers []*adminv1.Customer
	Customer  *adminv1.Customer
	Sessions  []*adminv1.CheckoutSession
	Coupons   []*adminv1.Coupon
	Codes     []*adminv1.PromotionCode
}

func (h *Handler) newCatalogView(r *http.Request, v visit) *catalogView {
	cv := &catalogView{CanManage: Allowed(v.role, ActionManageCatalog), IdempotencyKey: newToken(), Form: url.Values{}}
	if r.URL.Query().Get("notice") == "saved" {
		cv.Notice = "cat.saved"
	}
	return cv
}

// refused re-shows a page with its form as posted and the API's reason.
func (cv *catalogView) refused(r *http.Request, msg string) {
	cv.Form, cv.Error = r.PostForm, msg
	if k := r.PostForm.Get("idempotency_key"); k != "" {
		cv.IdempotencyKey = k
	}
}

// idempotent is the API context of a create form: the form's idempotency
// key makes a double submission one object.
func idempotent(ctx context.Context, r *http.Request) context.Context {
	return metadata.AppendToOutgoingContext(ctx, idempotency.KeyHeader, r.PostForm.Get("idempotency_key"))
}

// listProducts shows the products of the current mode, newest first, and
// the form that creates one with its first price.
func (h *Handler) listProducts(w http.ResponseWriter, r *http.Request, v visit) {
	h.showProducts(w, r, v, http.StatusOK, h.newCatalogView(r, v))
}

func (h *Handler) showProducts(w http.ResponseWriter, r *http.Request, v visit, status int, cv *catalogView) {
	resp, err := h.products.ListProducts(v.principal(r.Context()), &adminv1.ListProductsRequest{Limit: proto.Int32(catalogPerPage),
		StartingAfter: r.URL.Query().Get("after")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	cv.Products = resp.GetData()
	if resp.GetHasMore() && len(cv.Products) > 0 {
		cv.After = cv.Products[len(cv.Products)-1].GetId()
	}
	h.render(w, r, status, "catalog_products", &v, "catalog", cv)
}

// createProduct creates a product and, when an amount is given, its first
// one-time price. The amount is typed as a decimal ("4.50") and converted
// exactly to minor units with the currency's exponent; a third decimal for
// EUR is refused, never rounded.
func (h *Handler) createProduct(w http.ResponseWriter, r *http.Request, v visit) {
	cv := h.newCatalogView(r, v)
	tr := translator(pageLang(r))
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if name == "" {
		cv.refused(r, tr.T("cat.err_name"))
		h.showProducts(w, r, v, http.StatusBadRequest, cv)
		return
	}
	amount, currency, ok := formAmount(r.PostForm)
	if !ok {
		cv.refused(r, tr.T("cat.err_amount"))
		h.showProducts(w, r, v, http.StatusBadRequest, cv)
		return
	}
	ctx := idempotent(v.principal(r.Context()), r)
	prod, err := h.products.CreateProduct(ctx, &adminv1.CreateProductRequest{Name: name, Description: strings.TrimSpace(r.PostForm.Get("description"))})
	if e := apiError(err); e != nil {
		cv.refused(r, e.Message)
		h.showProducts(w, r, v, http.StatusBadRequest, cv)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	id := prod.GetProduct().GetId()
	if currency != "" {
		// A second key: the price is a second object of the same submission.
		pctx := metadata.AppendToOutgoingContext(v.principal(r.Context()), idempotency.KeyHeader, r.PostForm.Get("idempotency_key")+"-price")
		_, err := h.prices.CreatePrice(pctx, &adminv1.CreatePriceRequest{Product: id, Currency: currency, UnitAmount: &amount})
		if e := apiError(err); e != nil {
			// The product exists: its page says what went wrong with the price.
			cv.refused(r, e.Message)
			r.SetPathValue("id", id)
			h.productPage(w, r, v, http.StatusBadRequest, cv)
			return
		} else if err != nil {
			h.fail(w, r, &v, err)
			return
		}
	}
	http.Redirect(w, r, Prefix+"/catalog/products/"+url.PathEscape(id)+"?notice=saved", http.StatusSeeOther)
}

// formAmount reads the currency and amount fields of a price form: both
// empty is no price; otherwise an ISO code and an exact decimal amount.
func formAmount(f url.Values) (amount int64, currency string, ok bool) {
	code, raw := strings.ToUpper(strings.TrimSpace(f.Get("currency"))), strings.TrimSpace(f.Get("unit_amount"))
	if code == "" && raw == "" {
		return 0, "", true
	}
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return 0, "", false
	}
	amount, err = parseAmount(raw, cur)
	if err != nil || amount < 0 {
		return 0, "", false
	}
	return amount, cur.Code(), true
}

// showProduct shows a product with all its prices, and the add-price form.
func (h *Handler) showProduct(w http.ResponseWriter, r *http.Request, v visit) {
	h.productPage(w, r, v, http.StatusOK, h.newCatalogView(r, v))
}

func (h *Handler) productPage(w http.ResponseWriter, r *http.Request, v visit, status int, cv *catalogView) {
	ctx := v.principal(r.Context())
	prod, err := h.products.GetProduct(ctx, &adminv1.GetProductRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	prices, err := h.prices.ListPrices(ctx, &adminv1.ListPricesRequest{Product: prod.GetProduct().GetId(), Limit: proto.Int32(100)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	cv.Product, cv.Prices = prod.GetProduct(), prices.GetData()
	h.render(w, r, status, "catalog_product", &v, "catalog", cv)
}

// addPrice adds a one-time price to the product.
func (h *Handler) addPrice(w http.ResponseWriter, r *http.Request, v visit) {
	cv := h.newCatalogView(r, v)
	amount, currency, ok := formAmount(r.PostForm)
	if !ok || currency == "" {
		cv.refused(r, translator(pageLang(r)).T("cat.err_amount"))
		h.productPage(w, r, v, http.StatusBadRequest, cv)
		return
	}
	_, err := h.prices.CreatePrice(idempotent(v.principal(r.Context()), r), &adminv1.CreatePriceRequest{Product: r.PathValue("id"),
		Currency: currency, UnitAmount: &amount, Nickname: strings.TrimSpace(r.PostForm.Get("nickname"))})
	if isNotFound(err) {
		h.errorPage(w, r, &v, http.StatusNotFound)
		return
	} else if e := apiError(err); e != nil {
		cv.refused(r, e.Message)
		h.productPage(w, r, v, http.StatusBadRequest, cv)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/catalog/products/"+url.PathEscape(r.PathValue("id"))+"?notice=saved", http.StatusSeeOther)
}

// archivePrice archives a price (prices never change once made: a new
// price replaces an archived one); sessions already made keep their amounts.
func (h *Handler) archivePrice(w http.ResponseWriter, r *http.Request, v visit) {
	resp, err := h.prices.UpdatePrice(v.principal(r.Context()), &adminv1.UpdatePriceRequest{Id: r.PathValue("id"), Active: false,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}}})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/catalog/products/"+url.PathEscape(resp.GetPrice().GetProduct())+"?notice=saved", http.StatusSeeOther)
}

// archiveProduct archives a product: its prices can no longer be sold.
func (h *Handler) archiveProduct(w http.ResponseWriter, r *http.Request, v visit) {
	_, err := h.products.UpdateProduct(v.principal(r.Context()), &adminv1.UpdateProductRequest{Id: r.PathValue("id"), Active: false,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}}})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/catalog/products/"+url.PathEscape(r.PathValue("id"))+"?notice=saved", http.StatusSeeOther)
}

// listCustomers lists the customers, or those with an email (compared
// without case) when searched.
func (h *Handler) listCustomers(w http.ResponseWriter, r *http.Request, v visit) {
	cv := h.newCatalogView(r, v)
	cv.Query = strings.TrimSpace(r.URL.Query().Get("email"))
	resp, err := h.people.ListCustomers(v.principal(r.Context()), &adminv1.ListCustomersRequest{Limit: proto.Int32(catalogPerPage),
		StartingAfter: r.URL.Query().Get("after"), Email: cv.Query})
	if e := apiError(err); e != nil {
		cv.Error = e.Message
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	cv.Customers = resp.GetData()
	if resp.GetHasMore() && len(cv.Customers) > 0 {
		cv.After = cv.Customers[len(cv.Customers)-1].GetId()
	}
	h.render(w, r, http.StatusOK, "catalog_customers", &v, "catalog", cv)
}

// showCustomer shows a customer and their latest checkout sessions.
func (h *Handler) showCustomer(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := v.principal(r.Context())
	c, err := h.people.GetCustomer(ctx, &adminv1.GetCustomerRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	sessions, err := h.sessions.ListCheckoutSessions(ctx, &adminv1.ListCheckoutSessionsRequest{Customer: c.GetCustomer().GetId(), Limit: proto.Int32(20)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	cv := h.newCatalogView(r, v)
	cv.Customer, cv.Sessions = c.GetCustomer(), sessions.GetData()
	h.render(w, r, http.StatusOK, "catalog_customer", &v, "catalog", cv)
}

// listDiscounts shows the coupons and promotion codes with their
// redemption counts, and the forms that create them.
func (h *Handler) listDiscounts(w http.ResponseWriter, r *http.Request, v visit) {
	h.showDiscounts(w, r, v, http.StatusOK, h.newCatalogView(r, v))
}

func (h *Handler) showDiscounts(w http.ResponseWriter, r *http.Request, v visit, status int, cv *catalogView) {
	ctx := v.principal(r.Context())
	coupons, err := h.coupons.ListCoupons(ctx, &adminv1.ListCouponsRequest{Limit: proto.Int32(catalogPerPage)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	codes, err := h.promos.ListPromotionCodes(ctx, &adminv1.ListPromotionCodesRequest{Limit: proto.Int32(catalogPerPage)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	cv.Coupons, cv.Codes = coupons.GetData(), codes.GetData()
	h.render(w, r, status, "catalog_discounts", &v, "catalog", cv)
}

// createCoupon creates a coupon: a percentage (up to two decimals) or an
// amount in a currency, once or forever, with an optional redemption limit.
func (h *Handler) createCoupon(w http.ResponseWriter, r *http.Request, v visit) {
	cv := h.newCatalogView(r, v)
	f := r.PostForm
	req := &adminv1.CreateCouponRequest{Name: strings.TrimSpace(f.Get("name")), Duration: f.Get("duration")}
	tr := translator(pageLang(r))
	if p := strings.TrimSpace(f.Get("percent_off")); p != "" {
		pct, err := strconv.ParseFloat(strings.Replace(p, ",", ".", 1), 64)
		if err != nil {
			cv.refused(r, tr.T("cat.err_percent"))
			h.showDiscounts(w, r, v, http.StatusBadRequest, cv)
			return
		}
		req.PercentOff = &pct
	} else {
		amount, currency, ok := formAmount(url.Values{"currency": {f.Get("currency")}, "unit_amount": {f.Get("amount_off")}})
		if !ok || currency == "" {
			cv.refused(r, tr.T("cat.err_amount"))
			h.showDiscounts(w, r, v, http.StatusBadRequest, cv)
			return
		}
		req.AmountOff, req.Currency = &amount, currency
	}
	if m := strings.TrimSpace(f.Get("max_redemptions")); m != "" {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			cv.refused(r, tr.T("cat.err_max"))
			h.showDiscounts(w, r, v, http.StatusBadRequest, cv)
			return
		}
		req.MaxRedemptions = &n
	}
	_, err := h.coupons.CreateCoupon(idempotent(v.principal(r.Context()), r), req)
	if e := apiError(err); e != nil {
		cv.refused(r, e.Message)
		h.showDiscounts(w, r, v, http.StatusBadRequest, cv)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/catalog/discounts?notice=saved", http.StatusSeeOther)
}

// deleteCoupon deletes a coupon (Stripe's way to end one): no new session
// takes it; sessions and codes that have it keep their counts.
func (h *Handler) deleteCoupon(w http.ResponseWriter, r *http.Request, v visit) {
	_, err := h.coupons.DeleteCoupon(v.principal(r.Context()), &adminv1.DeleteCouponRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/catalog/discounts?notice=saved", http.StatusSeeOther)
}

// createPromotionCode creates a customer-facing code for a coupon.
func (h *Handler) createPromotionCode(w http.ResponseWriter, r *http.Request, v visit) {
	cv := h.newCatalogView(r, v)
	f := r.PostForm
	req := &adminv1.CreatePromotionCodeRequest{Coupon: strings.TrimSpace(f.Get("coupon")), Code: strings.TrimSpace(f.Get("code"))}
	if m := strings.TrimSpace(f.Get("max_redemptions")); m != "" {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			cv.refused(r, translator(pageLang(r)).T("cat.err_max"))
			h.showDiscounts(w, r, v, http.StatusBadRequest, cv)
			return
		}
		req.MaxRedemptions = &n
	}
	_, err := h.promos.CreatePromotionCode(idempotent(v.principal(r.Context()), r), req)
	if e := apiError(err); e != nil {
		cv.refused(r, e.Message)
		h.showDiscounts(w, r, v, http.StatusBadRequest, cv)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/catalog/discounts?notice=saved", http.StatusSeeOther)
}

// deactivatePromotionCode stops a code from being accepted.
func (h *Handler) deactivatePromotionCode(w http.ResponseWriter, r *http.Request, v visit) {
	_, err := h.promos.UpdatePromotionCode(v.principal(r.Context()), &adminv1.UpdatePromotionCodeRequest{Id: r.PathValue("id"), Active: proto.Bool(false)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/catalog/discounts?notice=saved", http.StatusSeeOther)
}
