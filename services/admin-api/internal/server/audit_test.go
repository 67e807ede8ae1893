package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestProviderAccountsAudited: connecting, changing and deleting a provider
// account with an API key are recorded as that key, each with the account's
// id; the refused second delete is not, and no credential reaches the log.
func TestProviderAccountsAudited(t *testing.T) {
	e := newEnv(t)
	id := e.createAccount(e.keyA, skA, pkA, whsecA)
	if status, body := e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"name": "Renamed",
		"credentials": map[string]any{"secret_key": skB}}); status != http.StatusOK {
		t.Fatalf("update: %d %v", status, body)
	}
	if status, _ := e.do("DELETE", "/v1/provider_accounts/"+id, e.keyA, nil); status != http.StatusOK {
		t.Fatalf("delete: %d", status)
	}
	if status, _ := e.do("DELETE", "/v1/provider_accounts/"+id, e.keyA, nil); status != http.StatusNotFound {
		t.Fatalf("delete twice: %d", status)
	}
	rows, err := e.pool.Query(context.Background(), `SELECT actor_kind, action, coalesce(target_id, ''), a.*::text
		FROM admin.audit_log a WHERE organization_id = $1 AND action LIKE 'provider_account.%' ORDER BY occurred_at, id`, e.orgA)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	var all strings.Builder
	for rows.Next() {
		var kind, action, target, text string
		if err := rows.Scan(&kind, &action, &target, &text); err != nil {
			t.Fatal(err)
		}
		got = append(got, kind+" "+action+" "+target)
		all.WriteString(text + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"api_key provider_account.create " + id, "api_key provider_account.update " + id, "api_key provider_account.delete " + id}
	if !slices.Equal(got, want) {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	noSecrets(t, "the audit log", all.String())
	if !strings.Contains(all.String(), "credentials") {
		t.Errorf("the update's detail does not name the credentials it changed:\n%s", all.String())
	}
}
