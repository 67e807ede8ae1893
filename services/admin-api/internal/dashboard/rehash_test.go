package dashboard_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/dashboard"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// formerHash is pw hashed as the dashboard did before: argon2id with
// 19 MiB and 2 passes.
func formerHash(pw string) string {
	salt := []byte("0123456789abcdef")
	b64 := base64.RawStdEncoding
	return "$argon2id$v=19$m=19456,t=2,p=1$" + b64.EncodeToString(salt) + "$" +
		b64.EncodeToString(argon2.IDKey([]byte(pw), salt, 2, 19456, 1, 32))
}

// userWithFormerHash creates a user of org A whose stored hash has the
// former parameters, and returns its email and a reader of its stored hash.
func userWithFormerHash(t *testing.T, e *env) (string, func() string) {
	t.Helper()
	ctx := context.Background()
	email := e.createUser("former@a.example", e.orgA, dashboard.RoleOwner)
	user, err := e.store.GetDashboardUserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetDashboardUserPassword(ctx, db.SetDashboardUserPasswordParams{ID: user.ID, PasswordHash: formerHash(password)}); err != nil {
		t.Fatal(err)
	}
	return email, func() string {
		t.Helper()
		u, err := e.store.GetDashboardUser(ctx, user.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}
}

// TestSignInRehashesFormerPasswordHash: a user whose hash has the former
// parameters signs in, and the stored hash is then of today's parameters
// and of the same password (signing in again works, and rehashes nothing);
// a wrong password never rehashes.
func TestSignInRehashesFormerPasswordHash(t *testing.T) {
	e := newEnv(t)
	email, stored := userWithFormerHash(t, e)
	former := stored()

	if status, _, _ := e.browser().tryLogin(email, "wrong horse battery staple"); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", status)
	}
	if stored() != former {
		t.Fatal("a wrong password rehashed the stored hash")
	}

	e.browser().login(email)
	rehashed := stored()
	if !strings.HasPrefix(rehashed, "$argon2id$v=19$m=7168,t=5,p=1$") || dashboard.NeedsRehash(rehashed) {
		t.Fatalf("stored hash after sign-in %q, want today's parameters", rehashed)
	}
	if ok, err := dashboard.VerifyPassword(context.Background(), password, rehashed); !ok || err != nil {
		t.Fatalf("the rehash does not verify the password: %v %v", ok, err)
	}

	e.browser().login(email)
	if stored() != rehashed {
		t.Error("a hash of today's parameters was rehashed again")
	}
}

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSignInSurvivesAFailedRehash: when PostgreSQL refuses to store the
// rehash (here a check constraint refuses today's hashes), the sign-in
// still succeeds with the former hash, which stays, and the failure is
// logged.
func TestSignInSurvivesAFailedRehash(t *testing.T) {
	var logs lockedBuffer
	e := newEnv(t, func(h *dashboard.Handler) { h.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	email, stored := userWithFormerHash(t, e)
	former := stored()
	if _, err := e.pool.Exec(context.Background(),
		`ALTER TABLE admin.dashboard_users ADD CONSTRAINT refuse_rehash CHECK (password_hash NOT LIKE '%m=7168,%') NOT VALID`); err != nil {
		t.Fatal(err)
	}
	e.browser().login(email) // fails the test unless signed in
	if stored() != former {
		t.Error("the stored hash changed")
	}
	if !strings.Contains(logs.String(), "storing the password's rehash failed") {
		t.Errorf("the failure was not logged; logs:\n%s", logs.String())
	}
}
