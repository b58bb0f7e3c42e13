package swarm

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dinv/dinv/core"
)

// defaultPort is the swarm's manager port, where -swarm-join points when it
// names no port.
const defaultPort = 2377

// plan is what the stage does, worked out from the configuration and the
// container's address.
type plan struct {
	Init bool   // -swarm-init: create the swarm
	Join string // -swarm-join, as host:port
	Role string // manager or worker

	// Listen and Advertise are the swarm's own addresses: the port the
	// engine listens on for managers (0.0.0.0:2377, or the advertised port)
	// and the address others reach this host at ("" lets the engine choose).
	Listen    string
	Advertise string

	Timeout time.Duration // how long joining (and waiting for a token) goes on

	Token      core.Secret // DINV_SWARM_TOKEN
	TokenFile  string      // -swarm-token-file
	TokenDir   string      // <certs>/swarm: where -swarm-init writes the tokens, joiners look
	RootCAFile string      // the swarm's root CA as the engine keeps it (a member's identity)
}

// newPlan builds the plan of a host whose configuration validate accepted;
// ip is the container's address (State.ContainerIP), the default for
// -swarm-advertise.
func newPlan(c *core.Config, ip net.IP) plan {
	sw := &c.Swarm
	p := plan{
		Init:       sw.Init,
		Role:       sw.Role,
		Advertise:  sw.Advertise,
		Listen:     net.JoinHostPort("0.0.0.0", strconv.Itoa(defaultPort)),
		Timeout:    sw.Timeout,
		Token:      sw.Token,
		TokenFile:  sw.TokenFile,
		TokenDir:   filepath.Join(c.CertDir, "swarm"),
		RootCAFile: filepath.Join(c.Engine.DataRoot.Value, "swarm", "certificates", "swarm-root-ca.crt"),
	}
	if p.Role == "" {
		p.Role = "worker"
	}
	if sw.Join != "" {
		p.Join, _ = joinAddr(sw.Join)
	}
	if p.Advertise == "" && ip != nil {
		p.Advertise = ip.String()
	}
	if _, port, err := net.SplitHostPort(p.Advertise); err == nil {
		p.Listen = net.JoinHostPort("0.0.0.0", port) // advertised and listened on alike
	}
	return p
}

// tokenPath is the file in dir that holds role's join token.
func tokenPath(dir, role string) string {
	return filepath.Join(dir, role+".token")
}

// validate checks the swarm settings, before anything runs. The problems
// are joined in one usage error; a token's value never appears in it.
func validate(sw *core.Swarm) error {
	var problems []string
	add := func(format string, args ...interface{}) {
		problems = append(problems, core.Usagef(format, args...).Error())
	}
	if sw.Role != "" && sw.Role != "manager" && sw.Role != "worker" {
		add("-swarm-role %q: a swarm role is manager or worker", sw.Role)
	}
	if sw.Timeout <= 0 {
		add("-swarm-timeout %s: give a duration above zero, such as 2m", sw.Timeout)
	}
	if sw.Init && sw.Join != "" {
		add("-swarm-init and -swarm-join %s exclude each other: the host that creates the swarm joins none; give the others -swarm-join", sw.Join)
	}
	if sw.Join != "" {
		if _, err := joinAddr(sw.Join); err != nil {
			add("-swarm-join %q: %v", sw.Join, err)
		}
		if sw.Token != "" {
			if err := checkToken(sw.Token.Value()); err != nil {
				add("DINV_SWARM_TOKEN: %v", err)
			}
		}
	}
	if sw.Advertise != "" {
		if err := checkAdvertise(sw.Advertise); err != nil {
			add("-swarm-advertise %q: %v", sw.Advertise, err)
		}
	}
	if len(problems) > 0 {
		return core.Usagef("%s", strings.Join(problems, "; "))
	}
	return nil
}

// isName reports whether s can be a host name or an interface name: letters,
// digits, '.', '-' and '_', starting and ending with a letter or digit.
func isName(s string) bool {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	if s == "" || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// joinAddr parses a manager's address, host[:port] (an IPv6 host in
// brackets when a port follows), and returns it as host:port, the port
// defaultPort when none is given.
func joinAddr(s string) (string, error) {
	host, port, err := splitHostPort(s)
	if err != nil {
		return "", err
	}
	if port == "" {
		port = strconv.Itoa(defaultPort)
	}
	if net.ParseIP(host) == nil && !isName(host) {
		return "", errorf("%q is neither an IP address nor a host name", host)
	}
	return net.JoinHostPort(host, port), nil
}

// checkAdvertise accepts what the engine takes for an advertised address:
// an IP address or an interface name, with an optional port.
func checkAdvertise(s string) error {
	host, _, err := splitHostPort(s)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsUnspecified() {
			return errorf("%s is no address others can reach", host)
		}
		return nil
	}
	if !isName(host) || len(host) > 15 {
		return errorf("%q is neither an IP address nor an interface name", host)
	}
	return nil
}

// splitHostPort splits host[:port]; port is "" when s has none, else
// 1-65535.
func splitHostPort(s string) (host, port string, err error) {
	if s == "" || strings.ContainsAny(s, " \t/@?#") || strings.Contains(s, "://") {
		return "", "", errorf("not host[:port]")
	}
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		// No port: a name, an IPv4 address, or a bare or bracketed IPv6 one.
		bare := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		if ip := net.ParseIP(bare); ip != nil {
			return ip.String(), "", nil
		}
		if strings.ContainsAny(s, ":[]") {
			return "", "", errorf("not host[:port]")
		}
		return s, "", nil
	}
	if host == "" {
		return "", "", errorf("no host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", errorf("port %q is not 1-65535", port)
	}
	return host, port, nil
}
