package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/totp"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
)

// Optional two-factor sign-in: a user who turns it on (Your account) is
// asked, after a right password, for a code of their authenticator app
// (TOTP, RFC 6238) or one of ten one-time recovery codes. The secret is
// sealed with secretbox, bound to the user's id; recovery codes and the
// pending sign-in's token are stored as SHA-256 hashes only.
const (
	// pendingSignInTTL is how long the code step waits after the password:
	// time to open the app, not to leave the form for later.
	pendingSignInTTL = 5 * time.Minute
	// recoveryCodeCount: GitHub's and Google's ten.
	recoveryCodeCount = 10
	// recoveryCodeBytes: 80 random bits, so that a SHA-256 of one cannot be
	// reversed by trying them all, in recoveryCodeLen base32 characters.
	recoveryCodeBytes = 10
	recoveryCodeLen   = recoveryCodeBytes * 8 / 5
	// totpIssuer names the service in the authenticator app.
	totpIssuer = "Tillpoint"
	// Cookie of the pending sign-in's token (see sessionCookie for __Host-).
	twoFactorCookie       = "tp_dash_2fa"
	secureTwoFactorCookie = "__Host-tp_dash_2fa"
)

// totpAD binds a user's sealed secret to their row: copied to another
// user's row, it does not open.
func totpAD(userID string) []byte { return secretbox.AD("admin.dashboard_users.totp", userID) }

func (h *Handler) twoFactorCookieName() string {
	if h.Secure {
		return secureTwoFactorCookie
	}
	return twoFactorCookie
}

// now is the clock codes are checked against.
func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// newRecoveryCodes returns recoveryCodeCount codes as shown (XXXX-XXXX-XXXX-XXXX)
// and the hashes stored.
func newRecoveryCodes() (codes []string, hashes [][]byte) {
	for range recoveryCodeCount {
		b := make([]byte, recoveryCodeBytes)
		_, _ = rand.Read(b) // never fails (Go 1.24+)
		s := base32.StdEncoding.EncodeToString(b)
		codes = append(codes, s[0:4]+"-"+s[4:8]+"-"+s[8:12]+"-"+s[12:recoveryCodeLen])
		hashes = append(hashes, hashToken(s))
	}
	return codes, hashes
}

// normalizeCode is a typed code without spaces and dashes, upper-cased:
// apps show "123 456", and recovery codes are shown in groups.
func normalizeCode(s string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(strings.TrimSpace(s)))
}

// isTOTPCode reports whether a normalized code is an app's code (digits
// only) rather than a recovery code.
func isTOTPCode(code string) bool {
	return len(code) == totp.Digits && strings.Trim(code, "0123456789") == ""
}

// checkSecondFactor accepts code for the user, in q's transaction: an
// app's code of a step after the last one accepted (moving it up in one
// conditional UPDATE, so a code works once), or one of their recovery
// codes (deleted as it is used). sealed is their sealed secret (nil: off).
func (h *Handler) checkSecondFactor(ctx context.Context, q *db.Queries, userID string, sealed *string, lastStep int64, code string) (bool, error) {
	if sealed == nil {
		return false, nil
	}
	code = normalizeCode(code)
	if isTOTPCode(code) {
		secret, err := h.Keys.Open(*sealed, totpAD(userID))
		if err != nil {
			return false, fmt.Errorf("dashboard: open the TOTP secret of %s: %w", userID, err)
		}
		step, ok := totp.Verify(secret, code, h.now(), lastStep)
		if !ok {
			return false, nil
		}
		n, err := q.AdvanceDashboardUserTOTPStep(ctx, db.AdvanceDashboardUserTOTPStepParams{ID: userID, Step: step})
		if err != nil {
			return false, store.Wrap(err, "accept TOTP step")
		}
		return n == 1, nil
	}
	if len(code) != recoveryCodeLen {
		return false, nil
	}
	n, err := q.UseDashboardRecoveryCode(ctx, db.UseDashboardRecoveryCodeParams{UserID: userID, CodeHash: hashToken(code)})
	if err != nil {
		return false, store.Wrap(err, "use recovery code")
	}
	return n == 1, nil
}

// startPendingSignIn remembers a right password of a user with two-factor
// sign-in, for pendingSignInTTL, under a token in an HttpOnly cookie.
func (h *Handler) startPendingSignIn(ctx context.Context, w http.ResponseWriter, userID, orgID string) error {
	token := newToken()
	err := h.Store.CreateDashboardPendingSignIn(ctx, db.CreateDashboardPendingSignInParams{
		TokenHash: hashToken(token), UserID: userID, OrganizationID: orgID, ExpiresAt: time.Now().Add(pendingSignInTTL)})
	if err != nil {
		return store.Wrap(err, "create pending sign-in")
	}
	http.SetCookie(w, h.cookie(h.twoFactorCookieName(), token, int(pendingSignInTTL/time.Second)))
	return nil
}

// pendingSignIn is the live pending sign-in of r's cookie, with its token's
// hash, or ok=false.
func (h *Handler) pendingSignIn(ctx context.Context, r *http.Request) (db.GetDashboardPendingSignInRow, []byte, bool, error) {
	c, err := r.Cookie(h.twoFactorCookieName())
	if err != nil || c.Value == "" {
		return db.GetDashboardPendingSignInRow{}, nil, false, nil
	}
	th := hashToken(c.Value)
	p, err := h.Store.GetDashboardPendingSignIn(ctx, th)
	if store.IsNoRows(err) {
		return p, nil, false, nil
	} else if err != nil {
		return p, nil, false, store.Wrap(err, "get pending sign-in")
	}
	return p, th, true, nil
}

// codeView is the code step's data.
type codeView struct {
	Next, Token string
	// Message is a catalog key: why the form is shown again.
	Message string
}

// loginCodePage asks for the code after a right password; without a live
// pending sign-in it goes back to the password.
func (h *Handler) loginCodePage(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if _, _, ok, err := h.pendingSignIn(r.Context(), r); err != nil {
		h.fail(w, r, nil, err)
		return
	} else if !ok {
		http.Redirect(w, r, Prefix+"/login"+nextQuery(next), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login_code", nil, "", codeView{Next: next, Token: h.loginToken(w, r)})
}

// Refusals found inside a transaction.
var (
	// errNoPendingSignIn: the pending sign-in was used or ended meanwhile.
	errNoPendingSignIn = errors.New("dashboard: no pending sign-in")
	// errSetupChanged: set-up was started again meanwhile (another tab).
	errSetupChanged = errors.New("dashboard: two-factor set-up changed")
)

// loginCode checks the second factor of a pending sign-in and only then
// starts the session, with a new token (as a password sign-in does). Wrong
// codes count against the same limits as wrong passwords, per address and
// per email, and are answered alike; an expired or used pending sign-in
// goes back to the password.
func (h *Handler) loginCode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, nil, http.StatusBadRequest)
		return
	}
	next := r.PostForm.Get("next")
	again := func(status int, msg string) {
		h.render(w, r, status, "login_code", nil, "", codeView{Next: next, Token: h.loginToken(w, r), Message: msg})
	}
	restart := func() {
		http.SetCookie(w, h.cookie(h.twoFactorCookieName(), "", -1))
		h.render(w, r, http.StatusUnauthorized, "login", nil, "", loginView{Next: next, Token: h.loginToken(w, r), Message: "login.code_expired"})
	}
	c, err := r.Cookie(h.loginCookieName())
	if err != nil || !validToken(r.PostForm.Get("csrf_token"), c.Value) {
		again(http.StatusForbidden, "login.expired")
		return
	}
	p, th, ok, err := h.pendingSignIn(r.Context(), r)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if !ok {
		restart()
		return
	}
	addrKey, accountKey := loginKeys(r, p.Email)
	if !h.LoginLimits.check(addrKey, accountKey) {
		again(http.StatusTooManyRequests, "login.limited")
		return
	}
	var right bool
	err = h.Store.InTx(r.Context(), func(_ pgx.Tx, q *db.Queries) error {
		var err error
		if right, err = h.checkSecondFactor(r.Context(), q, p.UserID, p.TotpSecret, p.TotpLastStep, r.PostForm.Get("code")); err != nil || !right {
			return err
		}
		if n, err := q.DeleteDashboardPendingSignIn(r.Context(), th); err != nil {
			return store.Wrap(err, "use pending sign-in")
		} else if n == 0 {
			return errNoPendingSignIn
		}
		return nil
	})
	switch {
	case errors.Is(err, errNoPendingSignIn):
		restart()
		return
	case err != nil:
		h.fail(w, r, nil, err)
		return
	case !right:
		h.LoginLimits.failed(addrKey, accountKey)
		again(http.StatusUnauthorized, "login.code_failed")
		return
	}
	if err := h.startSession(r.Context(), w, r, p.UserID, p.Email, p.OrganizationID); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	http.SetCookie(w, h.cookie(h.twoFactorCookieName(), "", -1))
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// twoFactorView is the set-up page's data: the secret (as a URI for the QR
// code and as text) while setting up, then the recovery codes, once.
type twoFactorView struct {
	URI, Secret string
	// CodeError and PasswordError are catalog keys.
	CodeError, PasswordError string
	// Recovery are the new recovery codes, shown once, after turning on.
	Recovery []string
}

// setupTwoFactor starts setting up: a new secret, sealed, waiting for a
// code of it. A user who has two-factor sign-in on goes back to the
// account page.
func (h *Handler) setupTwoFactor(w http.ResponseWriter, r *http.Request, v visit) {
	sealed, err := h.Keys.Seal(totp.NewSecret(), totpAD(v.userID))
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if _, err := h.Store.SetDashboardUserPendingTOTP(r.Context(), db.SetDashboardUserPendingTOTPParams{ID: v.userID, TotpPendingSecret: &sealed}); err != nil {
		h.fail(w, r, &v, store.Wrap(err, "set pending TOTP secret"))
		return
	}
	http.Redirect(w, r, Prefix+"/account/two-factor", http.StatusSeeOther)
}

// pendingSecret is the user's secret being set up, or nil when there is
// none (or two-factor sign-in is on already).
func (h *Handler) pendingSecret(user db.AdminDashboardUser) ([]byte, error) {
	if user.TotpSecret != nil || user.TotpPendingSecret == nil {
		return nil, nil
	}
	secret, err := h.Keys.Open(*user.TotpPendingSecret, totpAD(user.ID))
	if err != nil {
		return nil, fmt.Errorf("dashboard: open the pending TOTP secret of %s: %w", user.ID, err)
	}
	return secret, nil
}

// setupView is the set-up page of secret for v's user.
func setupView(v visit, secret []byte) twoFactorView {
	text := totp.Encode(secret)
	var grouped []string
	for i := 0; i < len(text); i += 4 {
		grouped = append(grouped, text[i:min(i+4, len(text))])
	}
	return twoFactorView{URI: totp.URI(totpIssuer, v.email, secret), Secret: strings.Join(grouped, " ")}
}

// twoFactorPage shows the secret being set up and asks for a code of it.
func (h *Handler) twoFactorPage(w http.ResponseWriter, r *http.Request, v visit) {
	user, err := h.Store.GetDashboardUser(r.Context(), v.userID)
	if err != nil {
		h.fail(w, r, &v, store.Wrap(err, "get dashboard user"))
		return
	}
	secret, err := h.pendingSecret(user)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if secret == nil {
		http.Redirect(w, r, Prefix+"/account", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "twofactor", &v, "account", setupView(v, secret))
}

// enableTwoFactor turns two-factor sign-in on once the user has typed a
// code of the secret shown (their app has it) and their password (a
// borrowed session cannot do it), shows the recovery codes once, and
// signs out the user's other sessions (they were opened without a code).
func (h *Handler) enableTwoFactor(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := r.Context()
	user, err := h.Store.GetDashboardUser(ctx, v.userID)
	if err != nil {
		h.fail(w, r, &v, store.Wrap(err, "get dashboard user"))
		return
	}
	secret, err := h.pendingSecret(user)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if secret == nil {
		http.Redirect(w, r, Prefix+"/account", http.StatusSeeOther)
		return
	}
	tv := setupView(v, secret)
	accountKey := "email:" + v.email
	if ok, _ := h.LoginLimits.PerAccount.Check(accountKey); !ok {
		tv.PasswordError = "login.limited"
		h.render(w, r, http.StatusTooManyRequests, "twofactor", &v, "account", tv)
		return
	}
	if match, err := h.verifyUserPassword(ctx, user, r.PostForm.Get("password")); err != nil {
		h.fail(w, r, &v, err)
		return
	} else if !match {
		h.LoginLimits.PerAccount.Allow(accountKey)
		tv.PasswordError = "account.wrong"
	}
	step, ok := totp.Verify(secret, normalizeCode(r.PostForm.Get("code")), h.now(), 0)
	if !ok {
		tv.CodeError = "twofactor.code_wrong"
	}
	if tv.PasswordError != "" || tv.CodeError != "" {
		h.render(w, r, http.StatusBadRequest, "twofactor", &v, "account", tv)
		return
	}
	codes, hashes := newRecoveryCodes()
	err = h.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		n, err := q.EnableDashboardUserTOTP(ctx, db.EnableDashboardUserTOTPParams{ID: v.userID, Step: step, Pending: user.TotpPendingSecret})
		if err != nil {
			return store.Wrap(err, "enable TOTP")
		}
		if n == 0 {
			return errSetupChanged
		}
		if err := q.ReplaceDashboardRecoveryCodes(ctx, db.ReplaceDashboardRecoveryCodesParams{UserID: v.userID, CodeHashes: hashes}); err != nil {
			return store.Wrap(err, "store recovery codes")
		}
		if _, err := q.DeleteOtherDashboardSessions(ctx, db.DeleteOtherDashboardSessionsParams{UserID: v.userID, TokenHash: v.tokenHash}); err != nil {
			return store.Wrap(err, "end other sessions")
		}
		return audit.Write(ctx, q, teamEntry(r, v.orgID, v.userID, v.email, audit.ActionTwoFactorOn, v.userID, nil))
	})
	if errors.Is(err, errSetupChanged) {
		http.Redirect(w, r, Prefix+"/account/two-factor", http.StatusSeeOther)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	h.render(w, r, http.StatusOK, "twofactor", &v, "account", twoFactorView{Recovery: codes})
}

// disableTwoFactor turns two-factor sign-in off with the password and a
// code (of the app, or a recovery code: the app may be what was lost).
// Wrong passwords and codes count against the account's sign-in limit.
func (h *Handler) disableTwoFactor(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := r.Context()
	accountKey := "email:" + v.email
	user, av, err := h.accountUser(ctx, v)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if !av.TwoFactor {
		http.Redirect(w, r, Prefix+"/account", http.StatusSeeOther)
		return
	}
	if ok, _ := h.LoginLimits.PerAccount.Check(accountKey); !ok {
		av.DisablePasswordError = "login.limited"
		h.render(w, r, http.StatusTooManyRequests, "account", &v, "account", av)
		return
	}
	match, err := h.verifyUserPassword(ctx, user, r.PostForm.Get("password"))
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if !match {
		h.LoginLimits.PerAccount.Allow(accountKey)
		av.DisablePasswordError = "account.wrong"
		h.render(w, r, http.StatusBadRequest, "account", &v, "account", av)
		return
	}
	var right bool
	err = h.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		var err error
		if right, err = h.checkSecondFactor(ctx, q, v.userID, user.TotpSecret, user.TotpLastStep, r.PostForm.Get("code")); err != nil || !right {
			return err
		}
		if err := q.DisableDashboardUserTOTP(ctx, v.userID); err != nil {
			return store.Wrap(err, "disable TOTP")
		}
		if err := q.DeleteDashboardRecoveryCodes(ctx, v.userID); err != nil {
			return store.Wrap(err, "delete recovery codes")
		}
		return audit.Write(ctx, q, teamEntry(r, v.orgID, v.userID, v.email, audit.ActionTwoFactorOff, v.userID, nil))
	})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if !right {
		h.LoginLimits.PerAccount.Allow(accountKey)
		av.DisableCodeError = "twofactor.code_wrong"
		h.render(w, r, http.StatusBadRequest, "account", &v, "account", av)
		return
	}
	http.Redirect(w, r, Prefix+"/account?done=two-factor-off", http.StatusSeeOther)
}

// reencryptBatch bounds the users one transaction re-seals.
const reencryptBatch = 100

// ReencryptTwoFactorSecrets re-seals, under keys' current key, every TOTP
// secret (on or being set up) sealed under another key, and returns how
// many users it changed: after it, the old keys can leave
// TILLPOINT_ENCRYPTION_KEY without locking anyone out. Safe to run while
// the service runs (rows are locked one batch at a time) and to run again.
func ReencryptTwoFactorSecrets(ctx context.Context, st *store.Store, keys *secretbox.Keyring) (int, error) {
	reseal := func(userID string, sealed *string) (*string, error) {
		if sealed == nil {
			return nil, nil
		}
		secret, err := keys.Open(*sealed, totpAD(userID))
		if err != nil {
			return nil, fmt.Errorf("dashboard: open the TOTP secret of %s: %w", userID, err)
		}
		out, err := keys.Seal(secret, totpAD(userID))
		return &out, err
	}
	total := 0
	for {
		n := 0
		err := st.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
			rows, err := q.StaleDashboardTOTPSecrets(ctx, db.StaleDashboardTOTPSecretsParams{KeyPrefix: keys.PrimaryID() + ":", RowLimit: reencryptBatch})
			if err != nil {
				return store.Wrap(err, "stale TOTP secrets")
			}
			for _, row := range rows {
				on, err := reseal(row.ID, row.TotpSecret)
				if err != nil {
					return err
				}
				pending, err := reseal(row.ID, row.TotpPendingSecret)
				if err != nil {
					return err
				}
				if err := q.SetDashboardUserTOTPSecrets(ctx, db.SetDashboardUserTOTPSecretsParams{ID: row.ID, TotpSecret: on, TotpPendingSecret: pending}); err != nil {
					return store.Wrap(err, "re-seal TOTP secret")
				}
			}
			n = len(rows)
			return nil
		})
		total += n
		if err != nil || n < reencryptBatch {
			return total, err
		}
	}
}
