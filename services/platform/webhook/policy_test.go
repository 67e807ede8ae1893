package webhook

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/config"
)

// TestCheckURL: one policy for every URL we call, by organization and mode.
func TestCheckURL(t *testing.T) {
	deny, err := ParseDenyList(":9100", "127.0.0.1:27801", "[::]:9090")
	if err != nil {
		t.Fatal(err)
	}
	strict := TargetPolicy{Deny: deny}
	dev := TargetPolicy{PrivateInTestMode: true, Deny: deny}
	orgs := TargetPolicy{PrivateOrgs: []string{"org_inside"}, Deny: deny}
	tests := []struct {
		name    string
		policy  TargetPolicy
		org     string
		live    bool
		url     string
		wantErr string // "" when accepted
	}{
		{"public https, live", strict, "org_a", true, "https://shop.example/ipn", ""},
		{"public https, test", strict, "org_a", false, "https://shop.example/ipn", ""},
		{"http without private targets", strict, "org_a", false, "http://shop.example/ipn", "must use https"},
		{"loopback, live", strict, "org_a", true, "https://127.0.0.1/ipn", "loopback address"},
		{"metadata, live", strict, "org_a", true, "https://169.254.169.254/latest", "link-local"},
		{"IPv6 loopback, live", strict, "org_a", true, "https://[::1]/ipn", "loopback"},
		{".localhost, live", strict, "org_a", true, "https://foo.localhost/ipn", "loopback name"},
		{"loopback, test, strict", strict, "org_a", false, "https://127.0.0.1/ipn", "loopback address"},
		{"dev: loopback in test mode", dev, "org_a", false, "http://127.0.0.1:8000/ipn", ""},
		{"dev: localhost in test mode", dev, "org_a", false, "http://localhost:8000/ipn", ""},
		{"dev: loopback in live mode", dev, "org_a", true, "https://127.0.0.1/ipn", "loopback address"},
		{"dev: our metrics listener", dev, "org_a", false, "http://127.0.0.1:9100/metrics", "own services"},
		{"dev: our listener by another loopback", dev, "org_a", false, "http://127.0.0.2:27801/v1", "own services"},
		{"dev: our listener as 0.0.0.0", dev, "org_a", false, "http://0.0.0.0:9090/", "own services"},
		{"dev: our listener as [::1]", dev, "org_a", false, "http://[::1]:9100/metrics", "own services"},
		{"dev: our listener by name", dev, "org_a", false, "http://api.localhost:27801/v1", "own services"},
		{"dev: our listener on the default port", TargetPolicy{PrivateInTestMode: true, Deny: mustDeny(t, ":80")}, "org_a", false, "http://localhost/", "own services"},
		{"org allowed: private in live mode", orgs, "org_inside", true, "https://10.1.2.3/ipn", ""},
		{"org allowed: still https in live mode", orgs, "org_inside", true, "http://10.1.2.3/ipn", "must use https"},
		{"org allowed: private in test mode", orgs, "org_inside", false, "http://10.1.2.3/ipn", ""},
		{"org allowed: not our listeners", orgs, "org_inside", true, "https://127.0.0.1:9100/", "own services"},
		{"another org", orgs, "org_other", true, "https://10.1.2.3/ipn", "private address"},
		{"another org, test mode", orgs, "org_other", false, "https://10.1.2.3/ipn", "private address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.CheckURL(tt.url, tt.org, tt.live)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CheckURL(%q) = %v, want nil", tt.url, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("CheckURL(%q) = nil, want an error with %q", tt.url, tt.wantErr)
			case err != nil && (!errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("CheckURL(%q) = %v, want ErrInvalidURL with %q", tt.url, err, tt.wantErr)
			}
		})
	}
}

func mustDeny(t *testing.T, addrs ...string) DenyList {
	t.Helper()
	d, err := ParseDenyList(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDenyListMatchesEveryLocalAddress: a listener bound to all interfaces,
// or to loopback, is reached through any local address; a remote one only
// through its own address or name.
func TestDenyListMatchesEveryLocalAddress(t *testing.T) {
	d := mustDeny(t, ":9100", "127.0.0.1:8080", "localhost:7000", "10.9.8.7:9090", "admin-api.internal:9091")
	lookup := func(name string) []netip.Addr {
		if name == "admin-api.internal" {
			return []netip.Addr{netip.MustParseAddr("10.1.1.1")}
		}
		return nil
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:9100", true}, {"127.0.0.2:9100", true}, {"0.0.0.0:9100", true}, {"[::1]:9100", true},
		{"[::]:9100", true}, {"[::ffff:127.0.0.1]:9100", true},
		{"127.0.0.1:8080", true}, {"127.9.9.9:8080", true}, {"[::1]:7000", true},
		{"127.0.0.1:9101", false}, {"93.184.216.34:9100", false},
		{"10.9.8.7:9090", true}, {"10.9.8.6:9090", false}, {"127.0.0.1:9090", false},
		{"10.1.1.1:9091", true}, {"10.1.1.2:9091", false},
	}
	for _, tt := range tests {
		ap := netip.MustParseAddrPort(tt.addr)
		if got := d.denies(ap.Addr().Unmap(), ap.Port(), lookup); got != tt.want {
			t.Errorf("denies(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	// This machine's own interface addresses are local too.
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		if !d.denies(p.Addr().WithZone(""), 9100, lookup) {
			t.Errorf("denies(%s:9100) = false, want true (an address of this machine)", p.Addr())
		}
	}
}

func TestParseDenyList(t *testing.T) {
	for _, bad := range []string{"9100", "host", "a:b", ":0", ":65536", "[::1]"} {
		if _, err := ParseDenyList(bad); err == nil {
			t.Errorf("ParseDenyList(%q) = nil error", bad)
		}
	}
	if d, err := ParseDenyList(":1", "[::1]:2", "x.internal:3"); err != nil || d.Len() != 3 {
		t.Errorf("ParseDenyList = %v, %v", d, err)
	}
}

func TestLoadTargetPolicy(t *testing.T) {
	tests := []struct {
		allow, deny string
		want        TargetPolicy
		wantErr     string
	}{
		{"", "", TargetPolicy{}, ""},
		{"false", "", TargetPolicy{}, ""},
		{"test", "", TargetPolicy{PrivateInTestMode: true}, ""},
		{"true", "", TargetPolicy{PrivateInTestMode: true}, ""}, // the old boolean meant test mode
		{"org_a, org_b", "", TargetPolicy{PrivateOrgs: []string{"org_a", "org_b"}}, ""},
		{"test,org_a", "", TargetPolicy{PrivateInTestMode: true, PrivateOrgs: []string{"org_a"}}, ""},
		{"yes please", "", TargetPolicy{}, "WEBHOOK_ALLOW_PRIVATE_TARGETS"},
		{"live", "", TargetPolicy{}, "WEBHOOK_ALLOW_PRIVATE_TARGETS"},
		{"", "localhost", TargetPolicy{}, "WEBHOOK_DENY_TARGETS"},
	}
	for _, tt := range tests {
		l := config.NewLoaderFrom(map[string]string{"WEBHOOK_ALLOW_PRIVATE_TARGETS": tt.allow, "WEBHOOK_DENY_TARGETS": tt.deny})
		got := LoadTargetPolicy(l, ":9100")
		err := l.Err()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q/%q: error %v, want one naming %s", tt.allow, tt.deny, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q/%q: %v", tt.allow, tt.deny, err)
			continue
		}
		if got.PrivateInTestMode != tt.want.PrivateInTestMode || strings.Join(got.PrivateOrgs, ",") != strings.Join(tt.want.PrivateOrgs, ",") ||
			got.Deny.Len() != 1 {
			t.Errorf("%q: got %+v, want %+v and the service's own listener denied", tt.allow, got, tt.want)
		}
	}
}

// TestClientsRefuseOurOwnListeners: with private targets allowed, a
// delivery to one of our listeners, by any local address, is refused
// before connecting, and carries no excerpt of its body.
func TestClientsRefuseOurOwnListeners(t *testing.T) {
	metrics := newCountingServer(t, "127.0.0.1:0", false, func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("# HELP go_goroutines secret internals\n"))
	})
	merchant := newCountingServer(t, "127.0.0.1:0", false, nil)
	policy := TargetPolicy{PrivateInTestMode: true, Deny: mustDeny(t, "127.0.0.1:"+metrics.port())}
	clients := NewClients(policy, ClientOptions{lookup: testLookup})
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "0.0.0.0", "localhost", "api.localhost", "loopback.test", "[::1]"} {
		res := Deliver(t.Context(), clients.For("org_a", false), "http://"+host+":"+metrics.port()+"/metrics", nil, []byte("{}"))
		var be *BlockedAddressError
		if !errors.As(res.Err, &be) || !be.Listener || res.ResponseExcerpt != "" || res.Status != 0 {
			t.Errorf("%s: Result = %+v, want a refused listener and no excerpt", host, res)
		}
		if res.Message != "refused: the address is one of this Tillpoint's own services" {
			t.Errorf("%s: Message = %q", host, res.Message)
		}
	}
	if n := metrics.conns.Load(); n != 0 {
		t.Errorf("the metrics listener got %d connections", n)
	}
	// The merchant's own server on this machine is still reached in test
	// mode, and not in live mode.
	if res := Deliver(t.Context(), clients.For("org_a", false), merchant.URL, nil, []byte("{}")); !res.OK() {
		t.Errorf("merchant server in test mode: %+v", res)
	}
	res := Deliver(t.Context(), clients.For("org_a", true), merchant.URL, nil, []byte("{}"))
	var be *BlockedAddressError
	if !errors.As(res.Err, &be) || be.Listener {
		t.Errorf("merchant server on loopback in live mode: %+v, want refused as loopback", res)
	}
	if n := merchant.reqs.Load(); n != 1 {
		t.Errorf("the merchant server got %d requests, want 1", n)
	}
}

// TestClientsDoNotShareConnectionsAcrossPolicies: a connection opened for
// a delivery that may reach private addresses is not reused by one that
// may not.
func TestClientsDoNotShareConnectionsAcrossPolicies(t *testing.T) {
	srv := newCountingServer(t, "127.0.0.1:0", false, nil)
	clients := NewClients(TargetPolicy{PrivateOrgs: []string{"org_inside"}}, ClientOptions{lookup: testLookup})
	if res := Deliver(t.Context(), clients.For("org_inside", true), srv.URL, nil, nil); !res.OK() {
		t.Fatalf("allowed organization: %+v", res)
	}
	if res := Deliver(t.Context(), clients.For("org_other", true), srv.URL, nil, nil); res.OK() {
		t.Fatalf("another organization reached a loopback server: %+v", res)
	}
	if n := srv.reqs.Load(); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}
