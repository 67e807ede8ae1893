package dashboard

import (
	"net/http"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
)

// keysPerPage is how many API keys the Developers → API keys page lists.
const keysPerPage = 50

// keysView is the API keys page's data. One view serves the list, the
// result of a creation (the secret, shown this once) and the confirmation
// of a revocation.
type keysView struct {
	Keys []*adminv1.ApiKey
	// After is the last key shown when there are more (the Older link).
	After string
	// Created is the key just made, with its secret; Confirm the key a
	// revocation is asked about.
	Created, Confirm *adminv1.ApiKey
	// Notice is a catalog key; Name and Error are the create form's.
	Notice, Name, Error string
	IdempotencyKey      string
}

// listKeys lists the organization's keys of the current mode, newest first.
func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, v visit) {
	kv := &keysView{}
	if r.URL.Query().Get("notice") == "revoked" {
		kv.Notice = "keys.revoked"
	}
	h.showKeys(w, r, v, http.StatusOK, kv, r.URL.Query().Get("after"))
}

func (h *Handler) showKeys(w http.ResponseWriter, r *http.Request, v visit, status int, kv *keysView, after string) {
	resp, err := h.keys.ListApiKeys(v.principal(r.Context()), &adminv1.ListApiKeysRequest{Limit: proto.Int32(keysPerPage), StartingAfter: after})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	kv.Keys = resp.GetData()
	if resp.GetHasMore() && len(kv.Keys) > 0 {
		kv.After = kv.Keys[len(kv.Keys)-1].GetId()
	}
	if kv.IdempotencyKey == "" {
		kv.IdempotencyKey = newToken()
	}
	h.render(w, r, status, "keys", &v, "developers", kv)
}

// createKey makes a key through the API and shows its secret on the
// answer itself: it is never stored in clear, so this page is the only
// time anyone sees it (and, like every page, it is not cached).
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, v visit) {
	kv := &keysView{Name: strings.TrimSpace(r.PostForm.Get("name"))}
	if kv.Name == "" {
		kv.Error = translator(pageLang(r)).T("err.required")
		h.showKeys(w, r, v, http.StatusBadRequest, kv, "")
		return
	}
	ctx := metadata.AppendToOutgoingContext(v.principal(r.Context()), idempotency.KeyHeader, r.PostForm.Get("idempotency_key"))
	resp, err := h.keys.CreateApiKey(ctx, &adminv1.CreateApiKeyRequest{Name: kv.Name})
	if e := apiError(err); e != nil {
		kv.Error = e.Message
		h.showKeys(w, r, v, http.StatusBadRequest, kv, "")
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	h.render(w, r, http.StatusCreated, "keys", &v, "developers", &keysView{Created: resp.GetApiKey()})
}

// findKey pages through the organization's keys of the current mode for
// id; nil when it is not one of them (another organization's, the other
// mode's, or none).
func (h *Handler) findKey(r *http.Request, v visit, id string) (*adminv1.ApiKey, error) {
	after := ""
	for {
		resp, err := h.keys.ListApiKeys(v.principal(r.Context()), &adminv1.ListApiKeysRequest{Limit: proto.Int32(100), StartingAfter: after})
		if err != nil {
			return nil, err
		}
		for _, k := range resp.GetData() {
			if k.GetId() == id {
				return k, nil
			}
		}
		if !resp.GetHasMore() || len(resp.GetData()) == 0 {
			return nil, nil
		}
		after = resp.GetData()[len(resp.GetData())-1].GetId()
	}
}

// confirmRevoke asks before revoking: a revoked key stops working at once,
// and the merchant's integration with it.
func (h *Handler) confirmRevoke(w http.ResponseWriter, r *http.Request, v visit) {
	k, err := h.findKey(r, v, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if k == nil || k.GetRevokedAt() != nil {
		h.errorPage(w, r, &v, http.StatusNotFound)
		return
	}
	h.render(w, r, http.StatusOK, "keys", &v, "developers", &keysView{Confirm: k})
}

// revokeKey revokes the key through the API; another organization's or
// mode's key is the API's 404.
func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, v visit) {
	_, err := h.keys.RevokeApiKey(v.principal(r.Context()), &adminv1.RevokeApiKeyRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/developers/api-keys?notice=revoked", http.StatusSeeOther)
}
