package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/country"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/paging"
)

// Limits of a customer's fields (Stripe's, where it has one).
const (
	maxCustomerNameLen = 256
	maxAddressLineLen  = 200
)

// Customers implements adminv1.CustomerServiceServer.
type Customers struct {
	adminv1.UnimplementedCustomerServiceServer
	Store *store.Store
}

// customerFields is a customer's validated, storable fields.
type customerFields struct {
	email, name, phone *string
	address            []byte // null when no field is set
}

// CreateCustomer validates and stores a customer in the caller's mode.
func (s *Customers) CreateCustomer(ctx context.Context, req *adminv1.CreateCustomerRequest) (*adminv1.CreateCustomerResponse, error) {
	p := auth.FromContext(ctx)
	f, err := validateCustomer(req.GetEmail(), req.GetName(), req.GetPhone(), req.GetAddress())
	if err != nil {
		return nil, err
	}
	meta, err := encodeMetadata(req.GetMetadata())
	if err != nil {
		return nil, err
	}
	var resp *adminv1.CreateCustomerResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		clock, err := testClockRef(ctx, q, p, req.GetTestClock())
		if err != nil {
			return err
		}
		row, err := q.CreateCustomer(ctx, db.CreateCustomerParams{ID: ids.New("cus"), OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, Email: f.email, Name: f.name, Phone: f.phone, Address: f.address, Metadata: meta, TestClockID: clock})
		if err != nil {
			return store.Wrap(err, "create customer")
		}
		out, err := CustomerProto(row)
		if err != nil {
			return err
		}
		resp = &adminv1.CreateCustomerResponse{Customer: out}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	return resp, err
}

// GetCustomer returns one of the caller's customers.
func (s *Customers) GetCustomer(ctx context.Context, req *adminv1.GetCustomerRequest) (*adminv1.GetCustomerResponse, error) {
	p := auth.FromContext(ctx)
	row, err := s.Store.GetCustomer(ctx, db.GetCustomerParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if err != nil {
		return nil, customerErr(err, "id", req.GetId())
	}
	out, err := CustomerProto(row)
	return &adminv1.GetCustomerResponse{Customer: out}, err
}

// testClockRef checks the test clock a new customer is attached to: one of
// the caller's, in test mode (nil for none).
func testClockRef(ctx context.Context, q *db.Queries, p auth.Principal, id string) (*string, error) {
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return nil, nil
	case p.Livemode:
		return nil, errs.Param("test_clock", "parameter_invalid", "Test clocks are test mode only; a live-mode customer cannot have one.")
	}
	if _, err := q.GetTestClock(ctx, db.GetTestClockParams{ID: id, OrganizationID: p.OrganizationID}); store.IsNoRows(err) {
		return nil, errs.NotFoundf("test_clock", "No such test clock: '%s'.", id)
	} else if err != nil {
		return nil, store.Wrap(err, "get test clock")
	}
	return &id, nil
}

// customerErr translates a failed customer lookup: no row is a 404 naming
// param (another organization's or mode's customer is no row either).
func customerErr(err error, param, id string) error {
	if store.IsNoRows(err) {
		return errs.NotFoundf(param, "No such customer: '%s'.", id)
	}
	return store.Wrap(err, "get customer")
}

// UpdateCustomer changes the fields of the update mask (over REST, those
// in the body) and validates the result as a whole.
func (s *Customers) UpdateCustomer(ctx context.Context, req *adminv1.UpdateCustomerRequest) (*adminv1.UpdateCustomerResponse, error) {
	p := auth.FromContext(ctx)
	paths, err := updateMask(req.GetUpdateMask().GetPaths(), "email", "name", "phone", "address", "address.*", "metadata")
	if err != nil {
		return nil, err
	}
	var resp *adminv1.UpdateCustomerResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.LockCustomer(ctx, db.LockCustomerParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if err != nil {
			return customerErr(err, "id", req.GetId())
		}
		cur, err := CustomerProto(row)
		if err != nil {
			return err
		}
		email, name, phone, addr := cur.GetEmail(), cur.GetName(), cur.GetPhone(), cur.GetAddress()
		if addr == nil {
			addr = &adminv1.Address{}
		}
		meta := cur.GetMetadata()
		for _, path := range paths {
			switch path {
			case "email":
				email = req.GetEmail()
			case "name":
				name = req.GetName()
			case "phone":
				phone = req.GetPhone()
			case "address":
				addr = req.GetAddress()
			case "metadata":
				if meta, err = mergeMetadata(row.Metadata, req.GetMetadata()); err != nil {
					return err
				}
			default: // address.<field>: one line of the address
				if err := setAddressField(addr, req.GetAddress(), strings.TrimPrefix(path, "address.")); err != nil {
					return err
				}
			}
		}
		f, err := validateCustomer(email, name, phone, addr)
		if err != nil {
			return err
		}
		metaJSON, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		updated, err := q.UpdateCustomer(ctx, db.UpdateCustomerParams{ID: row.ID, OrganizationID: p.OrganizationID, Livemode: p.Livemode,
			Email: f.email, Name: f.name, Phone: f.phone, Address: f.address, Metadata: metaJSON})
		if err != nil {
			return store.Wrap(err, "update customer")
		}
		out, err := CustomerProto(updated)
		if err != nil {
			return err
		}
		resp = &adminv1.UpdateCustomerResponse{Customer: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// setAddressField copies one field of an address update.
func setAddressField(dst, src *adminv1.Address, field string) error {
	switch field {
	case "line1":
		dst.Line1 = src.GetLine1()
	case "line2":
		dst.Line2 = src.GetLine2()
	case "city":
		dst.City = src.GetCity()
	case "state":
		dst.State = src.GetState()
	case "postal_code":
		dst.PostalCode = src.GetPostalCode()
	case "country":
		dst.Country = src.GetCountry()
	default:
		return errs.Param(paramName("address."+field), "parameter_unknown", "Received unknown parameter: address.%s.", field)
	}
	return nil
}

// ListCustomers pages through the caller's customers, newest first.
func (s *Customers) ListCustomers(ctx context.Context, req *adminv1.ListCustomersRequest) (*adminv1.ListCustomersResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetCustomerSeq(ctx, db.GetCustomerSeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	var email *string
	if v := strings.TrimSpace(req.GetEmail()); v != "" {
		email = &v
	}
	rows, err := s.Store.ListCustomers(ctx, db.ListCustomersParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		Email: email, BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list customers")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListCustomersResponse{Object: "list", HasMore: more, Url: "/v1/customers", Data: make([]*adminv1.Customer, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = CustomerProto(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteCustomer marks a customer deleted: it is no longer found or usable.
func (s *Customers) DeleteCustomer(ctx context.Context, req *adminv1.DeleteCustomerRequest) (*adminv1.DeleteCustomerResponse, error) {
	p := auth.FromContext(ctx)
	n, err := s.Store.DeleteCustomer(ctx, db.DeleteCustomerParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if err != nil {
		return nil, store.Wrap(err, "delete customer")
	}
	if n == 0 {
		return nil, errs.NotFoundf("id", "No such customer: '%s'.", req.GetId())
	}
	return &adminv1.DeleteCustomerResponse{Id: req.GetId(), Object: "customer", Deleted: true}, nil
}

// validateCustomer checks a customer's fields; "" leaves a field unset.
func validateCustomer(email, name, phone string, addr *adminv1.Address) (customerFields, error) {
	var f customerFields
	if v := strings.TrimSpace(email); v != "" {
		if !session.ValidEmail(v) {
			return f, errs.Param("email", "email_invalid", "Invalid email address: %q.", v)
		}
		f.email = &v
	}
	var err error
	if f.name, err = optionalText("name", name, maxCustomerNameLen); err != nil {
		return f, err
	}
	if v := strings.TrimSpace(phone); v != "" {
		if err := session.CheckPhone("phone", v); err != nil {
			return f, err
		}
		f.phone = &v
	}
	f.address, err = validateAddress(addr)
	return f, err
}

// storedAddress is the stored form of an address.
type storedAddress struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// validateAddress checks an address and encodes it; an address with no
// field set is none (null).
func validateAddress(a *adminv1.Address) ([]byte, error) {
	sa := storedAddress{}
	for _, f := range []struct {
		name string
		v    string
		dst  *string
	}{{"line1", a.GetLine1(), &sa.Line1}, {"line2", a.GetLine2(), &sa.Line2}, {"city", a.GetCity(), &sa.City},
		{"state", a.GetState(), &sa.State}, {"postal_code", a.GetPostalCode(), &sa.PostalCode}} {
		v, err := optionalText("address["+f.name+"]", f.v, maxAddressLineLen)
		if err != nil {
			return nil, err
		}
		*f.dst = deref(v)
	}
	if v := strings.TrimSpace(a.GetCountry()); v != "" {
		code, ok := country.Parse(v)
		if !ok {
			return nil, errs.Param("address[country]", "parameter_invalid", "address[country] must be an ISO 3166-1 alpha-2 code such as FR; got %q.", v)
		}
		sa.Country = code
	}
	if sa == (storedAddress{}) {
		return nil, nil
	}
	return json.Marshal(sa)
}

// CustomerProto renders a stored customer as the API object.
func CustomerProto(r db.AdminCustomer) (*adminv1.Customer, error) {
	meta, err := decodeMetadata(r.Metadata)
	if err != nil {
		return nil, fmt.Errorf("customer %s: %w", r.ID, err)
	}
	out := &adminv1.Customer{Id: r.ID, Object: "customer", Email: r.Email, Name: r.Name, Phone: r.Phone,
		Metadata: meta, Livemode: r.Livemode, CreatedAt: timestamppb.New(r.CreatedAt), TestClock: r.TestClockID}
	if len(r.Address) > 0 && string(r.Address) != "null" {
		var a storedAddress
		if err := json.Unmarshal(r.Address, &a); err != nil {
			return nil, fmt.Errorf("customer %s address: %w", r.ID, err)
		}
		out.Address = &adminv1.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}
	}
	return out, nil
}
