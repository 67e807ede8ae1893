package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// Session timeouts: a session ends after IdleTimeout without a request, or
// AbsoluteTimeout after sign-in whatever its use (OWASP's session
// management guidance for a low-risk business application).
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	// touchEvery: last_seen_at is precise to this, so a page view is a
	// read, not a write, on all but one request a minute; the idle timeout
	// is therefore exact to within a minute.
	touchEvery = time.Minute
)

// Cookie names. Over https the session cookie takes the __Host- prefix,
// which browsers only accept with Secure, Path=/ and no Domain: a sibling
// subdomain cannot plant or shadow it.
const (
	sessionCookie       = "tp_dash"
	secureSessionCookie = "__Host-tp_dash"
	// loginCookie carries the login form's double-submit token (there is
	// no session yet to bind a token to).
	loginCookie       = "tp_dash_login"
	secureLoginCookie = "__Host-tp_dash_login"
	langCookie        = "tp_dash_lang"
)

// visit is a signed-in request: who, in which organization and mode.
type visit struct {
	tokenHash []byte
	userID    string
	email     string
	role      Role
	orgID     string
	orgName   string
	// multiOrg: the user belongs to more than one organization (the
	// header offers to switch).
	multiOrg bool
	livemode bool
	csrf     string
}

// newToken returns 32 random bytes, base64url: a session token or a secret.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// csrfToken is the form token of a session: an HMAC of a fixed label under
// the session's own secret, so it is valid in this session only and any
// replica can check it.
func csrfToken(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("dashboard form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *Handler) sessionCookieName() string {
	if h.Secure {
		return secureSessionCookie
	}
	return sessionCookie
}

func (h *Handler) loginCookieName() string {
	if h.Secure {
		return secureLoginCookie
	}
	return loginCookie
}

// cookie is a cookie of ours: HttpOnly, SameSite=Lax, Secure over https,
// for the whole host (the __Host- prefix needs Path=/).
func (h *Handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: h.Secure,
		SameSite: http.SameSiteLaxMode}
}

// loadVisit returns the signed-in visit of r, or ok=false when its cookie
// is missing, unknown, or past a timeout.
func (h *Handler) loadVisit(ctx context.Context, r *http.Request) (visit, bool, error) {
	c, err := r.Cookie(h.sessionCookieName())
	if err != nil || c.Value == "" {
		return visit{}, false, nil
	}
	th := hashToken(c.Value)
	row, err := h.Store.GetDashboardSession(ctx, db.GetDashboardSessionParams{TokenHash: th, IdleSeconds: h.idle().Seconds()})
	if store.IsNoRows(err) {
		return visit{}, false, nil
	} else if err != nil {
		return visit{}, false, store.Wrap(err, "get dashboard session")
	}
	if time.Since(row.LastSeenAt) > touchEvery {
		if err := h.Store.TouchDashboardSession(ctx, th); err != nil {
			return visit{}, false, store.Wrap(err, "touch dashboard session")
		}
	}
	return visit{tokenHash: th, userID: row.UserID, email: row.Email, role: Role(row.Role), orgID: row.OrganizationID,
		orgName: row.OrganizationName, multiOrg: row.OrganizationCount > 1, livemode: row.Livemode,
		csrf: csrfToken(row.CsrfSecret)}, true, nil
}

// startSession signs the user in to org: a new token every time, so that
// a token planted in the browser before sign-in (session fixation) is
// never the signed-in one; the old session, if any, is deleted.
func (h *Handler) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, userID, orgID string) error {
	if c, err := r.Cookie(h.sessionCookieName()); err == nil && c.Value != "" {
		if err := h.Store.DeleteDashboardSession(ctx, hashToken(c.Value)); err != nil {
			return store.Wrap(err, "delete old dashboard session")
		}
	}
	token := newToken()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	err := h.Store.CreateDashboardSession(ctx, db.CreateDashboardSessionParams{
		TokenHash: hashToken(token), UserID: userID, OrganizationID: orgID, Livemode: false, CsrfSecret: secret,
		ExpiresAt: time.Now().Add(h.absolute()),
	})
	if err != nil {
		return store.Wrap(err, "create dashboard session")
	}
	// No MaxAge: the cookie ends with the browser; the server ends it sooner.
	http.SetCookie(w, h.cookie(h.sessionCookieName(), token, 0))
	http.SetCookie(w, h.cookie(h.loginCookieName(), "", -1))
	return nil
}

func (h *Handler) idle() time.Duration {
	if h.IdleTimeout > 0 {
		return h.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (h *Handler) absolute() time.Duration {
	if h.AbsoluteTimeout > 0 {
		return h.AbsoluteTimeout
	}
	return DefaultAbsoluteTimeout
}

// sweepEvery is how often ended sessions are deleted. They are refused as
// soon as they end whatever this is; the sweep only keeps the table small.
const sweepEvery = 10 * time.Minute

// SweepSessions deletes ended sessions, and pending two-factor sign-ins,
// every sweepEvery until ctx ends.
func (h *Handler) SweepSessions(ctx context.Context) error {
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	for {
		if _, err := h.Store.DeleteExpiredDashboardSessions(ctx, h.idle().Seconds()); err != nil && ctx.Err() == nil {
			h.Logger.WarnContext(ctx, "dashboard: sweep sessions", "err", err)
		}
		if _, err := h.Store.DeleteExpiredDashboardPendingSignIns(ctx); err != nil && ctx.Err() == nil {
			h.Logger.WarnContext(ctx, "dashboard: sweep pending sign-ins", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
