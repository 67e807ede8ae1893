package provider

import (
	"slices"
	"testing"
)

// Both providers implement the interface.
var (
	_ Provider = (*Test)(nil)
	_ Provider = (*BankTransfer)(nil)
)

func TestDefaultRegistry(t *testing.T) {
	r := NewDefaultRegistry()
	if got, want := r.Names(), []string{NameBankTransfer, NameTest}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for _, name := range r.Names() {
		p, ok := r.Lookup(name)
		if !ok || p.Name() != name {
			t.Errorf("Lookup(%q) = %v, %v", name, p, ok)
		}
	}
	for _, name := range []string{"", "stripe", "Test", "bank-transfer"} {
		if _, ok := r.Lookup(name); ok {
			t.Errorf("Lookup(%q) found a provider", name)
		}
	}
}

func TestNewRegistry(t *testing.T) {
	r, err := NewRegistry(NewTest(), NewBankTransfer())
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Names(); !slices.Equal(got, []string{NameBankTransfer, NameTest}) {
		t.Errorf("Names() = %v", got)
	}
	if _, err := NewRegistry(NewTest(), NewTest()); err == nil {
		t.Error("duplicate names accepted")
	}
	if _, err := NewRegistry(nil); err == nil {
		t.Error("nil provider accepted")
	}
	empty, err := NewRegistry()
	if err != nil || len(empty.Names()) != 0 {
		t.Errorf("empty registry: %v, %v", empty.Names(), err)
	}
}
