package provider

import (
	"fmt"
	"maps"
	"slices"
)

// Registry finds a provider by name, and a merchant's account's provider by
// account id (ForAccount). The names are set once at start-up and only read
// afterwards; the account cache has its own lock.
type Registry struct {
	byName   map[string]Provider
	accounts *accounts
}

// NewRegistry returns a registry of the given providers; empty or duplicate
// names are an error.
func NewRegistry(providers ...Provider) (*Registry, error) {
	r := &Registry{byName: make(map[string]Provider, len(providers))}
	for _, p := range providers {
		if p == nil || p.Name() == "" {
			return nil, fmt.Errorf("provider: registry: a provider without a name")
		}
		if _, dup := r.byName[p.Name()]; dup {
			return nil, fmt.Errorf("provider: registry: %q registered twice", p.Name())
		}
		r.byName[p.Name()] = p
	}
	return r, nil
}

// NewDefaultRegistry returns the registry of every built-in provider: "test"
// and "bank_transfer".
func NewDefaultRegistry() *Registry {
	return &Registry{byName: map[string]Provider{
		NameTest:         NewTest(),
		NameBankTransfer: NewBankTransfer(),
	}}
}

// Lookup returns the provider with this name.
func (r *Registry) Lookup(name string) (Provider, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// Names lists the registered providers' names, sorted.
func (r *Registry) Names() []string {
	return slices.Sorted(maps.Keys(r.byName))
}
