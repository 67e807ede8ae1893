package grpcapi

import (
	"context"
	"net/http"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/apikey"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/paging"
)

// maxKeyNameLen bounds a key's label.
const maxKeyNameLen = 100

// APIKeys implements adminv1.ApiKeyServiceServer.
type APIKeys struct {
	adminv1.UnimplementedApiKeyServiceServer
	Store *store.Store
}

// CreateApiKey makes a key in the caller's mode; its secret is returned once.
func (s *APIKeys) CreateApiKey(ctx context.Context, req *adminv1.CreateApiKeyRequest) (*adminv1.CreateApiKeyResponse, error) {
	p := auth.FromContext(ctx)
	if utf8.RuneCountInString(req.GetName()) > maxKeyNameLen {
		return nil, errs.Param("name", "parameter_invalid", "name is limited to %d characters.", maxKeyNameLen)
	}
	secret := apikey.Generate(p.Livemode)
	var resp *adminv1.CreateApiKeyResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		k, err := q.CreateAPIKey(ctx, db.CreateAPIKeyParams{ID: ids.New("key"), OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, Name: req.GetName(), Prefix: apikey.DisplayPrefix(secret), SecretHash: apikey.Hash(secret)})
		if err != nil {
			return store.Wrap(err, "create key")
		}
		out := APIKeyProto(k)
		out.Secret = &secret
		resp = &adminv1.CreateApiKeyResponse{ApiKey: out}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	return resp, err
}

// ListApiKeys pages through the caller's keys, without secrets.
func (s *APIKeys) ListApiKeys(ctx context.Context, req *adminv1.ListApiKeysRequest) (*adminv1.ListApiKeysResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetAPIKeySeq(ctx, db.GetAPIKeySeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListAPIKeys(ctx, db.ListAPIKeysParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list keys")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListApiKeysResponse{Object: "list", HasMore: more, Url: "/v1/api_keys", Data: make([]*adminv1.ApiKey, len(rows))}
	for i, r := range rows {
		out.Data[i] = APIKeyProto(r)
	}
	return out, nil
}

// RevokeApiKey revokes a key at once; revoking twice is harmless.
func (s *APIKeys) RevokeApiKey(ctx context.Context, req *adminv1.RevokeApiKeyRequest) (*adminv1.RevokeApiKeyResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.RevokeApiKeyResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		k, err := q.RevokeAPIKey(ctx, db.RevokeAPIKeyParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if store.IsNoRows(err) {
			return errs.NotFoundf("id", "No such API key: '%s'.", req.GetId())
		} else if err != nil {
			return store.Wrap(err, "revoke key")
		}
		resp = &adminv1.RevokeApiKeyResponse{ApiKey: APIKeyProto(k)}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	s.Store.Invalidate() // this replica's next request must see the change
	return resp, err
}

// APIKeyProto renders a stored key without its secret.
func APIKeyProto(k db.AdminApiKey) *adminv1.ApiKey {
	out := &adminv1.ApiKey{Id: k.ID, Object: "api_key", Name: k.Name, Prefix: k.Prefix + "…",
		Livemode: k.Livemode, CreatedAt: timestamppb.New(k.CreatedAt)}
	if k.LastUsedAt != nil {
		out.LastUsedAt = timestamppb.New(*k.LastUsedAt)
	}
	if k.RevokedAt != nil {
		out.RevokedAt = timestamppb.New(*k.RevokedAt)
	}
	return out
}
