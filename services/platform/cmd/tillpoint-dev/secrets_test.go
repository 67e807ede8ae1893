package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/secretbox"
)

func TestSecretsIncludeAnEncryptionKey(t *testing.T) {
	t.Setenv(secretbox.Variable, "") // unset: the generated key is used
	path := filepath.Join(t.TempDir(), "secrets.json")
	first, err := loadSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secretbox.Parse(first.EncryptionKey); err != nil {
		t.Fatalf("generated key %v", err)
	}
	again, err := loadSecrets(path)
	if err != nil || again.EncryptionKey != first.EncryptionKey {
		t.Fatalf("the key is not kept: %v", err)
	}
	env := serviceEnv(ports{base: 27800}, "postgres://x@127.0.0.1:1/x", "nats://127.0.0.1:2", first)
	want := secretbox.Variable + "=" + first.EncryptionKey
	if !slices.Contains(env.admin, want) {
		t.Fatalf("admin-api does not get %s", secretbox.Variable)
	}
	for _, other := range [][]string{env.runtime, env.hooks, env.common} {
		for _, kv := range other {
			if strings.HasPrefix(kv, secretbox.Variable+"=") {
				t.Fatalf("another service gets the key")
			}
		}
	}
}
