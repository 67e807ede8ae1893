package webhook

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestBlockedRanges(t *testing.T) {
	tests := []struct {
		ip      string
		blocked bool
	}{
		// IPv4 special-purpose ranges, with the addresses just outside.
		{"0.0.0.0", true},
		{"0.255.255.255", true},
		{"1.0.0.0", false},
		{"9.255.255.255", false},
		{"10.0.0.0", true},
		{"10.255.255.255", true},
		{"11.0.0.0", false},
		{"100.63.255.255", false},
		{"100.64.0.0", true},
		{"100.127.255.255", true},
		{"100.128.0.0", false},
		{"126.255.255.255", false},
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"128.0.0.0", false},
		{"169.253.255.255", false},
		{"169.254.0.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"169.255.0.0", false},
		{"172.15.255.255", false},
		{"172.16.0.0", true},
		{"172.31.255.255", true},
		{"172.32.0.0", false},
		{"192.0.0.8", true},
		{"192.0.2.1", true},
		{"192.88.99.1", true},
		{"192.167.255.255", false},
		{"192.168.0.1", true},
		{"192.168.255.255", true},
		{"192.169.0.0", false},
		{"198.17.255.255", false},
		{"198.18.0.0", true},
		{"198.19.255.255", true},
		{"198.20.0.0", false},
		{"198.51.100.7", true},
		{"203.0.113.9", true},
		{"223.255.255.255", false},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"240.0.0.1", true},
		{"255.255.255.255", true}, // broadcast
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.216.34", false},

		// IPv6.
		{"::", true},
		{"::1", true},
		{"::7f00:1", true}, // IPv4-compatible 127.0.0.1
		{"::2:0:0", false},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"febf:ffff::1", true},
		{"fec0::1", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		{"fbff:ffff::1", false},
		{"ff02::1", true},
		{"100::1", true},
		{"2001::1", true},
		{"2001:db8::1", true},
		{"2001:2::1", true},
		{"2001:4860:4860::8888", false},
		{"2606:4700:4700::1111", false},
		{"2a00:1450:4001:80b::200e", false},

		// IPv4-mapped IPv6: judged by the IPv4 address.
		{"::ffff:10.0.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:100.64.0.1", true},
		{"::ffff:0.0.0.0", true},
		{"::ffff:8.8.8.8", false},

		// NAT64 (64:ff9b::/96): judged by the embedded IPv4 address.
		{"64:ff9b::a00:1", true},     // 10.0.0.1
		{"64:ff9b::7f00:1", true},    // 127.0.0.1
		{"64:ff9b::a9fe:a9fe", true}, // 169.254.169.254
		{"64:ff9b::c0a8:101", true},  // 192.168.1.1
		{"64:ff9b::808:808", false},  // 8.8.8.8
		{"64:ff9b:1::a00:1", true},   // local-use NAT64, always
		{"2002:a00:1::1", true},      // 6to4 of 10.0.0.1
		{"2002:7f00:1::", true},      // 6to4 of 127.0.0.1
		{"2002:808:808::1", false},   // 6to4 of 8.8.8.8
		{"::ffff:192.168.0.1", true}, // mapped private
		{"::ffff:172.31.0.1", true},  // mapped private
		{"::ffff:198.18.0.1", true},  // mapped benchmarking
		{"::ffff:224.0.0.1", true},   // mapped multicast
		{"::ffff:240.0.0.1", true},   // mapped reserved
		{"::ffff:93.184.216.34", false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		reason, got := blockedReason(ip)
		if got != tt.blocked {
			t.Errorf("blockedReason(%s) = %q, %v; want blocked=%v", tt.ip, reason, got, tt.blocked)
		}
		if got && reason == "" {
			t.Errorf("blockedReason(%s): blocked without a reason", tt.ip)
		}
		err := controlBlocked(false, DenyList{})("tcp", netip.AddrPortFrom(ip, 443).String(), nil)
		if (err != nil) != tt.blocked {
			t.Errorf("controlBlocked(%s) = %v, want blocked=%v", tt.ip, err, tt.blocked)
		}
	}
	if _, bad := blockedReason(netip.Addr{}); !bad {
		t.Error("the zero Addr is not blocked")
	}
}

func TestBlockedAddressError(t *testing.T) {
	var err error = &BlockedAddressError{Host: "metadata.example", IP: netip.MustParseAddr("169.254.169.254")}
	var be *BlockedAddressError
	if !errors.As(err, &be) || be.Host != "metadata.example" {
		t.Fatalf("errors.As failed on %v", err)
	}
	for _, want := range []string{"metadata.example", "169.254.169.254", "link-local"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %q", err, want)
		}
	}
}

func TestValidateURL(t *testing.T) {
	tests := []struct {
		url          string
		allowPrivate bool
		wantErr      string // "" for valid; else a part of the message
	}{
		{"https://merchant.example/webhooks", false, ""},
		{"https://merchant.example:8443/hooks?x=1", false, ""},
		{"https://93.184.216.34/hook", false, ""},
		{"https://[2606:4700:4700::1111]/hook", false, ""},
		{"HTTPS://Merchant.Example/Hook", false, ""},
		{"http://merchant.example/hook", false, "must use https"},
		{"http://merchant.example/hook", true, ""},
		{"http://localhost:4242/hook", true, ""},
		{"http://api.localhost:4242/hook", true, ""},
		{"http://127.0.0.1:4242/hook", true, ""},
		{"http://[::1]:4242/hook", true, ""},
		{"https://localhost/hook", false, "loopback name"},
		{"https://shop.localhost./hook", false, "loopback name"},
		{"https://127.0.0.1/hook", false, "loopback address"},
		{"https://10.1.2.3/hook", false, "private address"},
		{"https://169.254.169.254/latest/meta-data", false, "link-local"},
		{"https://100.64.1.1/", false, "carrier-grade NAT"},
		{"https://[::1]/hook", false, "loopback"},
		{"https://[::ffff:10.0.0.1]/hook", false, "private"},
		{"https://[64:ff9b::a9fe:a9fe]/hook", false, "NAT64"},
		{"https://[fe80::1%25eth0]/hook", false, "link-local"},
		{"https://[fd00::1]/hook", false, "unique-local"},
		{"https://2130706433/hook", false, "non-standard form"},
		{"https://127.1/hook", false, "non-standard form"},
		{"https://0x7f.0.0.1/hook", false, "non-standard form"},
		{"https://0177.0.0.1/hook", false, "non-standard form"},
		{"https://user:pass@merchant.example/hook", false, "user name or password"},
		{"https://user@merchant.example/hook", false, "user name or password"},
		{"ftp://merchant.example/hook", false, "not supported"},
		{"javascript:alert(1)", false, "not supported"},
		{"file:///etc/passwd", true, "not supported"},
		{"https:merchant.example", false, "missing host"},
		{"https:///hook", false, "missing host"},
		{"https://:443/hook", false, "missing host"},
		{"merchant.example/hook", false, "absolute URL"},
		{"/hook", false, "absolute URL"},
		{"", false, "empty"},
		{"https://merchant.example:0/", false, "port"},
		{"https://merchant.example:65536/", false, "port"},
		{"https://merchant.example:99999999999999999999/", false, "port"},
		{"https://merchant.example/\x00", false, "invalid"},
		{"https://merchant example/", false, "invalid"},
		{"https://merchant.example/" + strings.Repeat("a", 2048-len("https://merchant.example/")), false, ""},
		{"https://merchant.example/" + strings.Repeat("a", 2049-len("https://merchant.example/")), false, "longer than 2048"},
	}
	for _, tt := range tests {
		err := ValidateURL(tt.url, tt.allowPrivate)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateURL(%.60q, %v) = %v, want nil", tt.url, tt.allowPrivate, err)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ValidateURL(%.60q, %v) = nil, want error with %q", tt.url, tt.allowPrivate, tt.wantErr)
		case err != nil && (!errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateURL(%.60q, %v) = %v, want ErrInvalidURL with %q", tt.url, tt.allowPrivate, err, tt.wantErr)
		}
	}
}
