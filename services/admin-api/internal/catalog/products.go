package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/paging"
)

// Limits of a product's fields: the name and description become a line
// item's, so they share its limits (session.Validate checks them again).
const (
	maxProductNameLen        = 250
	maxProductDescriptionLen = 500
	maxProductImages         = 8 // Stripe's
)

// Products implements adminv1.ProductServiceServer.
type Products struct {
	adminv1.UnimplementedProductServiceServer
	Store *store.Store
}

// productFields is a product's validated, storable fields.
type productFields struct {
	name        string
	description *string
	images      []string
}

// CreateProduct validates and stores a product in the caller's mode.
func (s *Products) CreateProduct(ctx context.Context, req *adminv1.CreateProductRequest) (*adminv1.CreateProductResponse, error) {
	p := auth.FromContext(ctx)
	f, err := validateProduct(req.GetName(), req.GetDescription(), req.GetImages())
	if err != nil {
		return nil, err
	}
	meta, err := encodeMetadata(req.GetMetadata())
	if err != nil {
		return nil, err
	}
	var resp *adminv1.CreateProductResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.CreateProduct(ctx, db.CreateProductParams{ID: ids.New("prod"), OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, Name: f.name, Description: f.description, Images: f.images,
			Active: req.Active == nil || req.GetActive(), Metadata: meta})
		if err != nil {
			return store.Wrap(err, "create product")
		}
		out, err := ProductProto(row)
		if err != nil {
			return err
		}
		resp = &adminv1.CreateProductResponse{Product: out}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	return resp, err
}

// GetProduct returns one of the caller's products.
func (s *Products) GetProduct(ctx context.Context, req *adminv1.GetProductRequest) (*adminv1.GetProductResponse, error) {
	p := auth.FromContext(ctx)
	row, err := s.Store.GetProduct(ctx, db.GetProductParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if err != nil {
		return nil, productErr(err, "id", req.GetId())
	}
	out, err := ProductProto(row)
	return &adminv1.GetProductResponse{Product: out}, err
}

// productErr translates a failed product lookup: no row is a 404 naming
// param (another organization's or mode's product is no row either).
func productErr(err error, param, id string) error {
	if store.IsNoRows(err) {
		return errs.NotFoundf(param, "No such product: '%s'.", id)
	}
	return store.Wrap(err, "get product")
}

// UpdateProduct changes the fields of the update mask (over REST, those
// in the body) and validates the result as a whole.
func (s *Products) UpdateProduct(ctx context.Context, req *adminv1.UpdateProductRequest) (*adminv1.UpdateProductResponse, error) {
	p := auth.FromContext(ctx)
	paths, err := updateMask(req.GetUpdateMask().GetPaths(), "name", "description", "images", "active", "metadata")
	if err != nil {
		return nil, err
	}
	var resp *adminv1.UpdateProductResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.LockProduct(ctx, db.LockProductParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if err != nil {
			return productErr(err, "id", req.GetId())
		}
		name, description, images, active, meta := row.Name, deref(row.Description), row.Images, row.Active, []byte(nil)
		for _, path := range paths {
			switch path {
			case "name":
				name = req.GetName()
			case "description":
				description = req.GetDescription()
			case "images":
				images = req.GetImages()
			case "active":
				active = req.GetActive()
			case "metadata":
				merged, err := mergeMetadata(row.Metadata, req.GetMetadata())
				if err != nil {
					return err
				}
				if meta, err = json.Marshal(merged); err != nil {
					return err
				}
			}
		}
		if meta == nil {
			meta = row.Metadata
		}
		f, err := validateProduct(name, description, images)
		if err != nil {
			return err
		}
		updated, err := q.UpdateProduct(ctx, db.UpdateProductParams{ID: row.ID, OrganizationID: p.OrganizationID, Livemode: p.Livemode,
			Name: f.name, Description: f.description, Images: f.images, Active: active, Metadata: meta})
		if err != nil {
			return store.Wrap(err, "update product")
		}
		out, err := ProductProto(updated)
		if err != nil {
			return err
		}
		resp = &adminv1.UpdateProductResponse{Product: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// ListProducts pages through the caller's products, newest first.
func (s *Products) ListProducts(ctx context.Context, req *adminv1.ListProductsRequest) (*adminv1.ListProductsResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetProductSeq(ctx, db.GetProductSeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListProducts(ctx, db.ListProductsParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		Active: optionalBool(req.Active), BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list products")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListProductsResponse{Object: "list", HasMore: more, Url: "/v1/products", Data: make([]*adminv1.Product, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = ProductProto(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// validateProduct checks a product's fields.
func validateProduct(name, description string, images []string) (productFields, error) {
	f := productFields{name: strings.TrimSpace(name), images: images}
	switch {
	case f.name == "":
		return f, errs.Missing("name")
	case utf8.RuneCountInString(f.name) > maxProductNameLen:
		return f, errs.Param("name", "parameter_invalid", "name is limited to %d characters.", maxProductNameLen)
	case len(images) > maxProductImages:
		return f, errs.Param("images", "parameter_invalid", "At most %d images.", maxProductImages)
	}
	var err error
	if f.description, err = optionalText("description", description, maxProductDescriptionLen); err != nil {
		return f, err
	}
	for i, img := range images {
		// Https always: the first image is shown on the hosted page.
		if _, err := session.AbsoluteURL(fmt.Sprintf("images[%d]", i), img, true); err != nil {
			return f, err
		}
	}
	if f.images == nil {
		f.images = []string{}
	}
	return f, nil
}

// ProductProto renders a stored product as the API object.
func ProductProto(r db.AdminProduct) (*adminv1.Product, error) {
	meta, err := decodeMetadata(r.Metadata)
	if err != nil {
		return nil, fmt.Errorf("product %s: %w", r.ID, err)
	}
	return &adminv1.Product{Id: r.ID, Object: "product", Name: r.Name, Description: r.Description, Images: r.Images,
		Active: r.Active, Metadata: meta, Livemode: r.Livemode, CreatedAt: timestamppb.New(r.CreatedAt)}, nil
}
