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
		want     keySpec
		wantErr  bool
	}{
		{"an empty key type means ECDSA P-256", "", keySpec{}, false},
		{"ecdsa is ECDSA P-256", "ecdsa", keySpec{}, false},
		{"rsa is RSA 2048", "rsa", keySpec{RSA: true, Bits: 2048}, false},
		{"rsa2048 is RSA 2048", "rsa2048", keySpec{RSA: true, Bits: 2048}, false},
		{"rsa3072 is RSA 3072", "RSA3072", keySpec{RSA: true, Bits: 3072}, false},
		{"rsa1024 is refused", "rsa1024", keySpec{}, true},
		{"rsa4096 is refused (too slow at start-up)", "rsa4096", keySpec{}, true},
		{"an unknown algorithm is refused", "dsa", keySpec{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseKeyType(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("parseKeyType(%q) error = %v, want error %v", c.in, err, c.wantErr)
			}
			if err == nil && got != c.want {
				t.Errorf("parseKeyType(%q) = %+v, want %+v", c.in, got, c.want)
			}
			if err != nil && !strings.Contains(err.Error(), c.in) {
				t.Errorf("error %q does not name the input", err)
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
		{"loopback, localhost and docker are always covered", nil, "", nil,
			[]string{"127.0.0.1", "::1", "docker", "localhost"}},
		{"addresses, hostname and extra names are added and sorted",
			[]net.IP{net.ParseIP("172.17.0.2"), net.ParseIP("fd00::2")}, "c0ffee", []string{"docker.example"},
			[]string{"127.0.0.1", "172.17.0.2", "::1", "c0ffee", "docker", "docker.example", "fd00::2", "localhost"}},
		{"duplicates and non-canonical IPs collapse",
			[]net.IP{net.ParseIP("127.0.0.1")}, "localhost", []string{"0:0:0:0:0:0:0:1", " 127.0.0.1 ", "Docker"},
			[]string{"127.0.0.1", "::1", "docker", "localhost"}},
		{"names are lower-cased and lose their trailing dot, and then collapse",
			nil, "C0FFEE", []string{"Docker.Example.", "docker.example", "LOCALHOST.", "*.Example.com"},
			[]string{"*.example.com", "127.0.0.1", "::1", "c0ffee", "docker", "docker.example", "localhost"}},
		{"names no client can match are left out",
			nil, "", []string{"a*.b", "fe80::1%eth0", ""},
			[]string{"127.0.0.1", "::1", "docker", "localhost"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := serverHosts(c.addrs, c.hostname, c.extra); !reflect.DeepEqual(got, c.want) {
				t.Errorf("ServerHosts = %q, want %q", got, c.want)
			}
		})
	}
}
