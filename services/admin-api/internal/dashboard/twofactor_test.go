package dashboard_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/dashboard"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/totp"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
)

// clock is the handler's clock in two-factor tests: codes are made for it,
// and it moves a step at a time (a code is accepted once per step).
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time       { return time.Unix(0, c.ns.Load()) }
func (c *clock) next()                { c.ns.Add(int64(totp.Period)) }
func (c *clock) code(s []byte) string { return totp.Code(s, totp.Step(c.now())) }

// newTOTPEnv is newEnv with a clock the test moves; configure may set the
// limits (their clock is the same).
func newTOTPEnv(t *testing.T, configure ...func(*dashboard.Handler)) (*env, *clock) {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	e := newEnv(t, append(configure, func(h *dashboard.Handler) {
		h.Now = c.now
		h.LoginLimits.PerAccount.SetClock(c.now)
		h.LoginLimits.PerAddr.SetClock(c.now)
	})...)
	return e, c
}

var (
	secretText   = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)</code>`)
	recoveryCode = regexp.MustCompile(`<li>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</li>`)
)

// startEnrol starts setting up two-factor sign-in and returns the secret
// shown, and the page.
func (b *browser) startEnrol(csrf string) ([]byte, string) {
	t := b.e.t
	t.Helper()
	if s, loc, _ := b.post("/dashboard/account/two-factor/setup", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther || loc != "/dashboard/account/two-factor" {
		t.Fatalf("setup: %d %s", s, loc)
	}
	s, _, page := b.get("/dashboard/account/two-factor")
	m := secretText.FindStringSubmatch(page)
	if s != http.StatusOK || m == nil {
		t.Fatalf("set-up page: %d\n%s", s, page)
	}
	secret, err := totp.Decode(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return secret, page
}

// enrol turns two-factor sign-in on for b's user and returns the secret
// and the recovery codes shown.
func (b *browser) enrol(csrf string, c *clock) ([]byte, []string) {
	t := b.e.t
	t.Helper()
	secret, _ := b.startEnrol(csrf)
	s, _, page := b.post("/dashboard/account/two-factor", url.Values{"csrf_token": {csrf}, "code": {c.code(secret)}, "password": {password}})
	if s != http.StatusOK {
		t.Fatalf("enable: %d\n%s", s, page)
	}
	var codes []string
	for _, m := range recoveryCode.FindAllStringSubmatch(page, -1) {
		codes = append(codes, m[1])
	}
	return secret, codes
}

// postCode posts the code step's form with the token of its page, or
// when the page is not shown (no pending sign-in) with the sign-in forms'
// token, which is their cookie's value (a double-submit token).
func (b *browser) postCode(code string) (int, string, string) {
	b.e.t.Helper()
	tok := b.cookie("tp_dash_login")
	if s, _, page := b.get("/dashboard/login/code"); s == http.StatusOK {
		tok = token(b.e.t, page)
	}
	return b.post("/dashboard/login/code", url.Values{"csrf_token": {tok}, "code": {code}})
}

// passwordStep posts the right password of a user with two-factor sign-in
// and checks that it leads to the code step, with no session yet.
func (b *browser) passwordStep(email string) {
	t := b.e.t
	t.Helper()
	if s, loc, _ := b.tryLogin(email, password); s != http.StatusSeeOther || loc != "/dashboard/login/code" {
		t.Fatalf("password of %s: %d %s, want the code step", email, s, loc)
	}
	if b.sessionCookie() != "" {
		t.Fatal("a session was started before the code")
	}
	if s, loc, _ := b.get("/dashboard/checkouts"); s != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/login") {
		t.Fatalf("signed in before the code: %d %s", s, loc)
	}
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// loginError is the sign-in forms' error message.
func loginError(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `id="login-error"`)
	if i < 0 {
		t.Fatalf("no error message in:\n%s", body)
	}
	return body[i : i+strings.Index(body[i:], "</p>")]
}

// TestTwoFactorSignIn: enrolment shows the key as a QR code and as text and
// stores it sealed; afterwards the password alone starts no session, a
// wrong code is refused like a wrong password, the right code signs in
// with a new session token, and a code is never accepted twice.
func TestTwoFactorSignIn(t *testing.T) {
	e, c := newTOTPEnv(t)
	ctx := context.Background()
	email := e.users["developer"]
	b, laptop := e.browser(), e.browser()
	csrf := b.login(email)
	laptop.login(email)
	if _, _, page := b.get("/dashboard/account"); !strings.Contains(page, `id="setup-two-factor"`) {
		t.Fatal("the account page offers no two-factor set-up")
	}
	secret, page := b.startEnrol(csrf)
	contains(t, "the set-up page", page, `id="qr"`, "<svg", `id="enable-form"`)
	if len(secret) != totp.SecretSize {
		t.Fatalf("secret of %d bytes", len(secret))
	}
	// Stored sealed, bound to the user: not the secret in any form, and it
	// opens for this user only.
	var pending *string
	if err := e.pool.QueryRow(ctx, `SELECT totp_pending_secret FROM admin.dashboard_users WHERE email = $1`, email).Scan(&pending); err != nil || pending == nil {
		t.Fatalf("pending secret: %v %v", pending, err)
	}
	// A wrong code or a wrong password does not turn it on.
	for name, f := range map[string]struct{ code, pw, field string }{
		"wrong code":     {"000000", password, "code"},
		"wrong password": {c.code(secret), "not the password", "password"},
	} {
		if f.code == "000000" && c.code(secret) == "000000" {
			f.code = "111111"
		}
		s, _, page := b.post("/dashboard/account/two-factor", url.Values{"csrf_token": {csrf}, "code": {f.code}, "password": {f.pw}})
		if s != http.StatusBadRequest || !regexp.MustCompile(`id="`+f.field+`"[^>]*aria-invalid="true"`).MatchString(page) {
			t.Errorf("enable with a %s: %d, want 400 with an error on %s", name, s, f.field)
		}
	}
	s, _, page := b.post("/dashboard/account/two-factor", url.Values{"csrf_token": {csrf}, "code": {c.code(secret)}, "password": {password}})
	codes := recoveryCode.FindAllStringSubmatch(page, -1)
	if s != http.StatusOK || len(codes) != 10 || codes[0][1] == codes[1][1] {
		t.Fatalf("enable: %d, %d recovery codes\n%s", s, len(codes), page)
	}
	var sealed string
	if err := e.pool.QueryRow(ctx, `SELECT totp_secret FROM admin.dashboard_users WHERE email = $1`, email).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	var hashedCodes, plainCodes int
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM admin.dashboard_recovery_codes WHERE code_hash = sha256(convert_to(replace($1, '-', ''), 'UTF8'))`, codes[0][1]).Scan(&hashedCodes)
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM admin.dashboard_recovery_codes WHERE code_hash IN (convert_to($1, 'UTF8'), convert_to(replace($1, '-', ''), 'UTF8'))`, codes[0][1]).Scan(&plainCodes)
	if hashedCodes != 1 || plainCodes != 0 {
		t.Errorf("a recovery code is not stored hashed (hashed %d, plain %d)", hashedCodes, plainCodes)
	}
	if strings.Contains(sealed, totp.Encode(secret)) || bytes.Contains([]byte(sealed), secret) || !strings.HasPrefix(sealed, e.keys.PrimaryID()+":") {
		t.Errorf("the stored secret is not sealed: %q", sealed)
	}
	if got, err := e.keys.Open(sealed, secretbox.AD("admin.dashboard_users.totp", e.userID(email))); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("the sealed secret does not open to the secret shown: %v", err)
	}
	if _, err := e.keys.Open(sealed, secretbox.AD("admin.dashboard_users.totp", e.userID(e.users["owner"]))); err == nil {
		t.Error("the sealed secret opens for another user")
	}
	// Turning it on signed the other sessions out (opened without a code).
	if s, _, _ := laptop.get("/dashboard/checkouts"); s != http.StatusSeeOther {
		t.Errorf("another session after turning two-factor on: %d, want the sign-in page", s)
	}
	if _, _, page := b.get("/dashboard/account"); !strings.Contains(page, "10 unused recovery codes left") || !strings.Contains(page, `id="disable-form"`) {
		t.Errorf("the account page does not show two-factor on:\n%s", page)
	}

	// Sign out; the password alone no longer signs in.
	b.post("/dashboard/logout", url.Values{"csrf_token": {csrf}})
	b.passwordStep(email)
	pendingToken := b.cookie("tp_dash_2fa")
	var hashed, plain int
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM admin.dashboard_pending_sign_ins WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, pendingToken).Scan(&hashed)
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM admin.dashboard_pending_sign_ins WHERE token_hash = convert_to($1, 'UTF8')`, pendingToken).Scan(&plain)
	if pendingToken == "" || hashed != 1 || plain != 0 {
		t.Errorf("the pending sign-in's token is not stored hashed (cookie %q, hashed %d, plain %d)", pendingToken, hashed, plain)
	}
	// A wrong code: refused, in the style of a wrong password.
	wrong := "123456"
	if wrong == c.code(secret) {
		wrong = "654321"
	}
	s, _, body := b.postCode(wrong)
	if s != http.StatusUnauthorized || !strings.Contains(loginError(t, body), "The code is not right.") || b.sessionCookie() != "" {
		t.Fatalf("wrong code: %d %q", s, loginError(t, body))
	}
	// The right code (of the next step: the enrolment used this one) signs
	// in, with a new token even when one was planted (session fixation).
	attacker := e.browser()
	attacker.login(e.users["viewer"])
	planted := attacker.sessionCookie()
	u, _ := url.Parse(e.url)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "tp_dash", Value: planted, Path: "/"}})
	c.next()
	used := c.code(secret)
	if s, loc, body := b.postCode(used); s != http.StatusSeeOther || loc != "/dashboard/overview" {
		t.Fatalf("right code: %d %s\n%s", s, loc, body)
	}
	if got := b.sessionCookie(); got == "" || got == planted {
		t.Errorf("session after the code: %q (planted %q)", got, planted)
	}
	if s, loc, _ := attacker.get("/dashboard/checkouts"); s != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/login") {
		t.Errorf("the planted session still works: %d", s)
	}
	if _, _, list := b.get("/dashboard/checkouts"); !strings.Contains(list, email) {
		t.Error("not signed in as the user after the code")
	}
	if b.cookie("tp_dash_2fa") != "" {
		t.Error("the pending sign-in's cookie outlived the sign-in")
	}
	// The used pending sign-in is gone: replayed, it leads to the password.
	stale := e.browser()
	stale.get("/dashboard/login")
	stale.c.Jar.SetCookies(u, []*http.Cookie{{Name: "tp_dash_2fa", Value: pendingToken, Path: "/"}})
	if s, loc, _ := stale.get("/dashboard/login/code"); s != http.StatusSeeOther || loc != "/dashboard/login" {
		t.Errorf("a used pending sign-in: %d %s, want the password form", s, loc)
	}
	if s, _, body := stale.postCode(c.code(secret)); s != http.StatusUnauthorized || !strings.Contains(body, `id="login-form"`) || stale.sessionCookie() != "" {
		t.Errorf("a code with a used pending sign-in: %d, want the password form", s)
	}

	// Replay: the code just used, in a new sign-in within its 90 seconds.
	other := e.browser()
	other.passwordStep(email)
	if s, _, body := other.postCode(used); s != http.StatusUnauthorized || other.sessionCookie() != "" {
		t.Errorf("replayed code: %d %q, want 401", s, loginError(t, body))
	}
	c.next()
	if s, _, _ := other.postCode(c.code(secret)); s != http.StatusSeeOther {
		t.Errorf("the next step's code: %d, want 303", s)
	}
}

// TestTwoFactorPendingExpires: the code step lasts five minutes; after that
// the right code leads back to the password, and nobody is signed in.
func TestTwoFactorPendingExpires(t *testing.T) {
	e, c := newTOTPEnv(t)
	email := e.users["support"]
	b := e.browser()
	secret, _ := b.enrol(b.login(email), c)
	b.post("/dashboard/logout", url.Values{"csrf_token": {b.csrf()}})
	b.passwordStep(email)
	var ttl float64
	_ = e.pool.QueryRow(context.Background(), `SELECT extract(epoch FROM expires_at - now()) FROM admin.dashboard_pending_sign_ins`).Scan(&ttl)
	if ttl <= 290 || ttl > 300 {
		t.Errorf("pending sign-in lasts %.0f s, want 300", ttl)
	}
	if _, err := e.pool.Exec(context.Background(), `UPDATE admin.dashboard_pending_sign_ins SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	c.next()
	s, _, body := b.postCode(c.code(secret))
	if s != http.StatusUnauthorized || !strings.Contains(body, `id="login-form"`) || !strings.Contains(loginError(t, body), "Please sign in again") {
		t.Errorf("code after the pending sign-in expired: %d\n%s", s, body)
	}
	if b.sessionCookie() != "" {
		t.Error("an expired pending sign-in started a session")
	}
	// The code was not used up by the refusal: a new sign-in takes it.
	b.passwordStep(email)
	if s, _, _ := b.postCode(c.code(secret)); s != http.StatusSeeOther {
		t.Errorf("after signing in again: %d, want 303", s)
	}
}

// TestTwoFactorRecoveryCode: a recovery code signs in once, typed in any
// case and with or without its dashes, and the account page counts them.
func TestTwoFactorRecoveryCode(t *testing.T) {
	e, c := newTOTPEnv(t)
	email := e.users["viewer"]
	b := e.browser()
	_, codes := b.enrol(b.login(email), c)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	b.post("/dashboard/logout", url.Values{"csrf_token": {b.csrf()}})
	b.passwordStep(email)
	if s, _, _ := b.postCode(strings.ToLower(strings.ReplaceAll(codes[3], "-", " "))); s != http.StatusSeeOther {
		t.Fatalf("recovery code: %d, want 303", s)
	}
	if _, _, page := b.get("/dashboard/account"); !strings.Contains(page, "9 unused recovery codes left") {
		t.Error("the account page does not count the used code")
	}
	again := e.browser()
	again.passwordStep(email)
	if s, _, _ := again.postCode(codes[3]); s != http.StatusUnauthorized {
		t.Errorf("a used recovery code: %d, want 401", s)
	}
	if s, _, _ := again.postCode("ABCD-EFGH-IJKL-MNOP"); s != http.StatusUnauthorized {
		t.Errorf("a made-up recovery code: %d, want 401", s)
	}
	if s, _, _ := again.postCode(codes[4]); s != http.StatusSeeOther {
		t.Errorf("another recovery code: %d, want 303", s)
	}
}

// TestTwoFactorLimits: wrong codes count against the sign-in limits, per
// email and per address, with the password's answer; once limited even the
// right code (and the password) waits.
func TestTwoFactorLimits(t *testing.T) {
	for name, limits := range map[string]func(*dashboard.Handler){
		"per account": func(h *dashboard.Handler) {
			h.LoginLimits = dashboard.LoginLimits{PerAccount: ratelimit.New(1.0/60, 3, 0), PerAddr: ratelimit.New(1, 100, 0)}
		},
		"per address": func(h *dashboard.Handler) {
			h.LoginLimits = dashboard.LoginLimits{PerAccount: ratelimit.New(1, 100, 0), PerAddr: ratelimit.New(1.0/60, 3, 0)}
		},
	} {
		t.Run(name, func(t *testing.T) {
			e, c := newTOTPEnv(t, limits)
			email := e.users["owner"]
			b := e.browser()
			secret, _ := b.enrol(b.login(email), c)
			b.post("/dashboard/logout", url.Values{"csrf_token": {b.csrf()}})
			c.next()
			right := c.code(secret)
			wrong := "000000"
			if right == wrong {
				wrong = "999999"
			}
			b.passwordStep(email)
			for i := range 3 {
				if s, _, _ := b.postCode(wrong); s != http.StatusUnauthorized {
					t.Errorf("wrong code %d: %d, want 401", i+1, s)
				}
			}
			s, _, body := b.postCode(right)
			if s != http.StatusTooManyRequests || !strings.Contains(loginError(t, body), "Too many sign-in attempts") {
				t.Errorf("right code after the burst: %d, want 429", s)
			}
			if s, _, _ := b.tryLogin(email, password); s != http.StatusTooManyRequests {
				t.Errorf("the password after wrong codes: %d, want 429", s)
			}
			// A pause, not a lockout: a minute later the next code works.
			c.ns.Add(int64(61 * time.Second))
			if s, _, _ := b.postCode(c.code(secret)); s != http.StatusSeeOther {
				t.Errorf("a code after the pause: %d, want 303", s)
			}
		})
	}
}

// TestTwoFactorDisable: turning it off needs the password and a code; then
// the password alone signs in again, and the recovery codes are gone.
func TestTwoFactorDisable(t *testing.T) {
	e, c := newTOTPEnv(t)
	email := e.users["owner"]
	b := e.browser()
	csrf := b.login(email)
	secret, codes := b.enrol(csrf, c)
	c.next()
	for name, f := range map[string]struct{ pw, code, field string }{
		"wrong password": {"not the password", c.code(secret), "disable_password"},
		"wrong code":     {password, "ABCD-EFGH-IJKL-MNOP", "disable_code"},
	} {
		s, _, page := b.post("/dashboard/account/two-factor/disable", url.Values{"csrf_token": {csrf}, "password": {f.pw}, "code": {f.code}})
		if s != http.StatusBadRequest || !regexp.MustCompile(`id="`+f.field+`"[^>]*aria-invalid="true"`).MatchString(page) {
			t.Errorf("turn off with a %s: %d, want 400 with an error on %s", name, s, f.field)
		}
	}
	// The right code, refused above with a wrong password, was not used up.
	if s, loc, _ := b.post("/dashboard/account/two-factor/disable", url.Values{"csrf_token": {csrf}, "password": {password}, "code": {codes[0]}}); s != http.StatusSeeOther || loc != "/dashboard/account?done=two-factor-off" {
		t.Fatalf("turn off: %d %s", s, loc)
	}
	var left int
	var sealed *string
	_ = e.pool.QueryRow(context.Background(), `SELECT totp_secret, (SELECT count(*) FROM admin.dashboard_recovery_codes r WHERE r.user_id = u.id) FROM admin.dashboard_users u WHERE email = $1`, email).Scan(&sealed, &left)
	if sealed != nil || left != 0 {
		t.Errorf("after turning off: secret %v, %d recovery codes", sealed, left)
	}
	if s, loc, _ := e.browser().tryLogin(email, password); s != http.StatusSeeOther || loc != "/dashboard/overview" {
		t.Errorf("password after turning off: %d %s, want signed in", s, loc)
	}
	// Both changes are in the organization's audit log, by the user.
	var on, off int
	for _, row := range e.auditRows(e.orgA, "") {
		if row.Email == email && row.Action == "user.two_factor_on" {
			on++
		}
		if row.Email == email && row.Action == "user.two_factor_off" {
			off++
		}
	}
	if on != 1 || off != 1 {
		t.Errorf("audit log: %d two_factor_on, %d two_factor_off; want 1 and 1", on, off)
	}
}

// TestTwoFactorCSRF: the set-up, turn-on and turn-off forms need the
// session's token, the code step the sign-in form's; refused, they change
// nothing.
func TestTwoFactorCSRF(t *testing.T) {
	e, c := newTOTPEnv(t)
	email := e.users["owner"]
	b, other := e.browser(), e.browser()
	csrf := b.login(email)
	otherCSRF := other.login(e.users["viewer"])
	pending := func() (p, on bool) {
		_ = e.pool.QueryRow(context.Background(), `SELECT totp_pending_secret IS NOT NULL, totp_secret IS NOT NULL FROM admin.dashboard_users WHERE email = $1`, email).Scan(&p, &on)
		return p, on
	}
	bad := map[string][]string{"no token": nil, "wrong token": {"x" + csrf[1:]}, "another session's": {otherCSRF}}
	for name, tok := range bad {
		if s, _, _ := b.post("/dashboard/account/two-factor/setup", url.Values{"csrf_token": tok}); s != http.StatusForbidden {
			t.Errorf("set up with %s: %d, want 403", name, s)
		}
	}
	if p, _ := pending(); p {
		t.Error("a refused set-up stored a secret")
	}
	secret, _ := b.startEnrol(csrf)
	for name, tok := range bad {
		if s, _, _ := b.post("/dashboard/account/two-factor", url.Values{"csrf_token": tok, "code": {c.code(secret)}, "password": {password}}); s != http.StatusForbidden {
			t.Errorf("turn on with %s: %d, want 403", name, s)
		}
	}
	if _, on := pending(); on {
		t.Fatal("a refused turn-on turned two-factor on")
	}
	if s, _, _ := b.post("/dashboard/account/two-factor", url.Values{"csrf_token": {csrf}, "code": {c.code(secret)}, "password": {password}}); s != http.StatusOK {
		t.Fatalf("turn on: %d", s)
	}
	c.next()
	for name, tok := range bad {
		if s, _, _ := b.post("/dashboard/account/two-factor/disable", url.Values{"csrf_token": tok, "code": {c.code(secret)}, "password": {password}}); s != http.StatusForbidden {
			t.Errorf("turn off with %s: %d, want 403", name, s)
		}
	}
	if _, on := pending(); !on {
		t.Fatal("a refused turn-off turned two-factor off")
	}
	fresh := e.browser()
	fresh.passwordStep(email)
	for name, tok := range map[string][]string{"no token": nil, "wrong token": {"x" + csrf[1:]}} {
		if s, _, _ := fresh.post("/dashboard/login/code", url.Values{"csrf_token": tok, "code": {c.code(secret)}}); s != http.StatusForbidden {
			t.Errorf("code step with %s: %d, want 403", name, s)
		}
	}
	if fresh.sessionCookie() != "" {
		t.Error("a refused code step started a session")
	}
	if s, _, _ := fresh.postCode(c.code(secret)); s != http.StatusSeeOther {
		t.Errorf("code step with its token: %d, want 303 (the refused posts used nothing up)", s)
	}
}

// TestTwoFactorFrench: the new pages speak French.
func TestTwoFactorFrench(t *testing.T) {
	e, c := newTOTPEnv(t)
	email := e.users["owner"]
	b := e.browser()
	b.c.Jar.SetCookies(func() *url.URL { u, _ := url.Parse(e.url); return u }(), []*http.Cookie{{Name: "tp_dash_lang", Value: "fr", Path: "/"}})
	csrf := b.login(email)
	_, _, account := b.get("/dashboard/account")
	contains(t, "the account page", account, "Connexion en deux étapes", "Configurer la connexion en deux étapes")
	_, setup := b.startEnrol(csrf)
	contains(t, "the set-up page", setup, "Scannez ce QR code")
	secret, _ := b.startEnrol(csrf)
	_, _, done := b.post("/dashboard/account/two-factor", url.Values{"csrf_token": {csrf}, "code": {c.code(secret)}, "password": {password}})
	contains(t, "the recovery codes", done, "Vos codes de secours")
	b.post("/dashboard/logout", url.Values{"csrf_token": {csrf}})
	b.passwordStep(email)
	_, _, code := b.get("/dashboard/login/code")
	contains(t, "the code step", code, "Saisissez votre code d’authentification")
	_, _, wrong := b.postCode("ZZZZ")
	contains(t, "a wrong code", wrong, "Le code est incorrect.")
}

// TestTwoFactorCodeOnceConcurrently: one code posted at once from several
// pending sign-ins (a phished code, raced) signs in once. The user's row is
// held locked until every request has read the last accepted step and
// waits to move it, so they truly overlap: only the conditional UPDATE
// (step only upward) stops the others.
func TestTwoFactorCodeOnceConcurrently(t *testing.T) {
	e, c := newTOTPEnv(t)
	ctx := context.Background()
	email := e.users["owner"]
	b := e.browser()
	secret, _ := b.enrol(b.login(email), c)
	c.next()
	code := c.code(secret)
	browsers := []*browser{e.browser(), e.browser(), e.browser()}
	forms := make([]url.Values, len(browsers))
	for i, br := range browsers {
		br.passwordStep(email)
		_, _, page := br.get("/dashboard/login/code")
		forms[i] = url.Values{"csrf_token": {token(t, page)}, "code": {code}}
	}
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM admin.dashboard_users WHERE email = $1 FOR UPDATE`, email); err != nil {
		t.Fatal(err)
	}
	statuses := make([]int, len(browsers))
	var wg sync.WaitGroup
	for i, br := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := br.c.PostForm(e.url+"/dashboard/login/code", forms[i])
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	waitForLockWaiters(t, e, len(browsers), finished)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	<-finished
	if signedIn := countOf(statuses, http.StatusSeeOther); signedIn != 1 || countOf(statuses, http.StatusUnauthorized) != len(browsers)-1 {
		t.Errorf("one code posted %d times at once: %v, want one 303 and the rest 401", len(browsers), statuses)
	}
}

// TestTwoFactorCookie: the pending sign-in's cookie is HttpOnly, SameSite,
// and over https Secure with the __Host- prefix; it lasts the five minutes.
func TestTwoFactorCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, func(h *dashboard.Handler) { h.Secure = secure })
		id := e.userID(e.users["owner"])
		sealed, err := e.keys.Seal(totp.NewSecret(), secretbox.AD("admin.dashboard_users.totp", id))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.pool.Exec(context.Background(), `UPDATE admin.dashboard_users SET totp_secret = $2 WHERE id = $1`, id, sealed); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		_, _, page := b.get("/dashboard/login")
		resp, err := b.c.PostForm(e.url+"/dashboard/login", url.Values{"csrf_token": {token(t, page)}, "email": {e.users["owner"]}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := map[bool]string{false: "tp_dash_2fa", true: "__Host-tp_dash_2fa"}[secure]
		session := map[bool]string{false: "tp_dash", true: "__Host-tp_dash"}[secure]
		var found bool
		for _, c := range resp.Cookies() {
			if c.Name == session {
				t.Errorf("secure=%v: the password step set the session cookie", secure)
			}
			if c.Name != want {
				continue
			}
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" || c.MaxAge != 300 {
				t.Errorf("secure=%v: pending sign-in cookie %+v", secure, c)
			}
		}
		if !found {
			t.Errorf("secure=%v: no %s cookie in %v", secure, want, resp.Header["Set-Cookie"])
		}
	}
}

// TestReencryptTwoFactorSecrets: after a new key is put first, the secrets
// sealed under the old one (on, and being set up) are re-sealed under the
// new one, open without the old key, and a second run changes nothing.
func TestReencryptTwoFactorSecrets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ring := func(specs ...string) *secretbox.Keyring {
		k, err := secretbox.Parse(strings.Join(specs, ","))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	oldSpec, _ := secretbox.Generate("old")
	newSpec, _ := secretbox.Generate("new")
	oldRing, rotated, newOnly := ring(oldSpec), ring(newSpec, oldSpec), ring(newSpec)
	id := e.userID(e.users["owner"])
	on, pending := totp.NewSecret(), totp.NewSecret()
	sealedOn, _ := oldRing.Seal(on, secretbox.AD("admin.dashboard_users.totp", id))
	sealedPending, _ := oldRing.Seal(pending, secretbox.AD("admin.dashboard_users.totp", id))
	if _, err := e.pool.Exec(ctx, `UPDATE admin.dashboard_users SET totp_secret = $2, totp_pending_secret = $3 WHERE id = $1`, id, sealedOn, sealedPending); err != nil {
		t.Fatal(err)
	}
	n, err := dashboard.ReencryptTwoFactorSecrets(ctx, e.store, rotated)
	if err != nil || n != 1 {
		t.Fatalf("re-encrypted %d users (%v), want 1", n, err)
	}
	var gotOn, gotPending string
	if err := e.pool.QueryRow(ctx, `SELECT totp_secret, totp_pending_secret FROM admin.dashboard_users WHERE id = $1`, id).Scan(&gotOn, &gotPending); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		sealed string
		want   []byte
	}{"on": {gotOn, on}, "being set up": {gotPending, pending}} {
		plain, err := newOnly.Open(c.sealed, secretbox.AD("admin.dashboard_users.totp", id))
		if !strings.HasPrefix(c.sealed, "new:") || err != nil || !bytes.Equal(plain, c.want) {
			t.Errorf("the secret %s after re-encryption: %q, opens %v", name, c.sealed[:4], err)
		}
	}
	if n, err := dashboard.ReencryptTwoFactorSecrets(ctx, e.store, rotated); err != nil || n != 0 {
		t.Errorf("second run re-encrypted %d (%v), want 0", n, err)
	}
}
