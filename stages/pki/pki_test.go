package pki

import (
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestParseKeyType(t *testing.T) {
	cases := []struct {
		name, in string
		want     KeySpec
		wantErr  bool
	}{
		{"an empty key type means ECDSA P-256", "", KeySpec{}, false},
		{"ecdsa is ECDSA P-256", "ecdsa", KeySpec{}, false},
		{"rsa is RSA 2048", "rsa", KeySpec{RSA: true, Bits: 2048}, false},
		{"rsa2048 is RSA 2048", "rsa2048", KeySpec{RSA: true, Bits: 2048}, false},
		{"rsa3072 is RSA 3072", "RSA3072", KeySpec{RSA: true, Bits: 3072}, false},
		{"rsa1024 is refused", "rsa1024", KeySpec{}, true},
		{"rsa4096 is refused (too slow at start-up)", "rsa4096", KeySpec{}, true},
		{"an unknown algorithm is refused", "dsa", KeySpec{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseKeyType(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("ParseKeyType(%q) error = %v, want error %v", c.in, err, c.wantErr)
			}
			if err == nil && got != c.want {
				t.Errorf("ParseKeyType(%q) = %+v, want %+v", c.in, got, c.want)
			}
			if err != nil && !strings.Contains(err.Error(), c.in) {
				t.Errorf("error %q does not name the input", err)
			}
		})
	}
}

func TestCheckSAN(t *testing.T) {
	cases := []struct {
		name, in string
		ok       bool
	}{
		{"an IPv4 address is accepted", "10.0.0.1", true},
		{"an IPv6 address is accepted", "fd00::1", true},
		{"a DNS name is accepted", "docker.example.com", true},
		{"a wildcard name is accepted", "*.example.com", true},
		{"an empty entry is refused", "", false},
		{"a name with a space is refused", "my host", false},
		{"a URL is refused", "https://example.com", false},
		{"a label starting with a dash is refused", "-bad.example", false},
		{"a bare wildcard is refused", "*.", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := CheckSAN(c.in); (err == nil) != c.ok {
				t.Errorf("CheckSAN(%q) = %v, want ok %v", c.in, err, c.ok)
			}
		})
	}
}

func TestServerHosts(t *testing.T) {
	cases := []struct {
		name     string
		addrs    []net.IP
		hostname string
		extra    []string
		want     []string
	}{
		{"loopback and localhost are always covered", nil, "", nil,
			[]string{"127.0.0.1", "::1", "localhost"}},
		{"addresses, hostname and extra names are added and sorted",
			[]net.IP{net.ParseIP("172.17.0.2"), net.ParseIP("fd00::2")}, "c0ffee", []string{"docker.example"},
			[]string{"127.0.0.1", "172.17.0.2", "::1", "c0ffee", "docker.example", "fd00::2", "localhost"}},
		{"duplicates and non-canonical IPs collapse",
			[]net.IP{net.ParseIP("127.0.0.1")}, "localhost", []string{"0:0:0:0:0:0:0:1", " 127.0.0.1 "},
			[]string{"127.0.0.1", "::1", "localhost"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ServerHosts(c.addrs, c.hostname, c.extra); !reflect.DeepEqual(got, c.want) {
				t.Errorf("ServerHosts = %q, want %q", got, c.want)
			}
		})
	}
}
