package provider

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestForAccountBuildsAndCaches: the first call fetches the credentials and
// builds the provider; calls within accountTTL reuse it; after, they fetch
// again (a rotated key takes effect).
func TestForAccountBuildsAndCaches(t *testing.T) {
	fetched := 0
	src := func(_ context.Context, id string) (Credentials, error) {
		fetched++
		if id != "pa_1" {
			return Credentials{}, errors.New("not found")
		}
		return Credentials{AccountID: id, Provider: "fake", SecretKey: "sk_test_x"}, nil
	}
	var gotKey string
	r := NewDefaultRegistry().WithAccounts(src, map[string]Factory{"fake": func(c Credentials) (Provider, error) {
		gotKey = c.SecretKey
		return NewTest(), nil
	}})
	now := time.Unix(1_700_000_000, 0)
	r.accounts.now = func() time.Time { return now }
	ctx := context.Background()
	p1, err := r.ForAccount(ctx, "pa_1")
	if err != nil || p1 == nil || gotKey != "sk_test_x" {
		t.Fatalf("ForAccount = %v, %v (key %q)", p1, err, gotKey)
	}
	if p2, _ := r.ForAccount(ctx, "pa_1"); p2 != p1 || fetched != 1 {
		t.Errorf("second call: same provider %t, fetched %d times, want cached", p2 == p1, fetched)
	}
	now = now.Add(accountTTL)
	if _, err := r.ForAccount(ctx, "pa_1"); err != nil || fetched != 2 {
		t.Errorf("after the TTL: fetched %d times (err %v), want 2", fetched, err)
	}
	if _, err := r.ForAccount(ctx, "pa_unknown"); err == nil {
		t.Error("unknown account: no error")
	}
}

// TestForAccountUnknownProvider: an account of a provider without a factory
// is an error naming the account, not its credentials.
func TestForAccountUnknownProvider(t *testing.T) {
	r := NewDefaultRegistry().WithAccounts(func(context.Context, string) (Credentials, error) {
		return Credentials{AccountID: "pa_2", Provider: "other", SecretKey: "sk_test_secret"}, nil
	}, nil)
	_, err := r.ForAccount(context.Background(), "pa_2")
	if !errors.Is(err, ErrNoAccountProvider) {
		t.Fatalf("err = %v, want ErrNoAccountProvider", err)
	}
	if msg := err.Error(); contains(msg, "sk_test_secret") {
		t.Errorf("error leaks the key: %s", msg)
	}
	if _, err := NewDefaultRegistry().ForAccount(context.Background(), "pa_2"); err == nil {
		t.Error("a registry without accounts answered")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
