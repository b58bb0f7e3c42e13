//go:build reliability

package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinv/dinv/test/harness"
)

// containerSample names the bad inputs repeated through a real DinV
// container: flags, a stage file and a /certs volume prepared with bad files.
var containerSample = []string{
	"unknown flag",
	"storage driver no engine knows",
	"insecure registry with a scheme",
	"port above 65535",
	"engine version unknown",
	"yaml unknown stage",
	"certs holding only docker.crt",
	"a truncated certificate",
	"a key that does not match its certificate",
	"an expired certificate",
	"a server certificate not signed by ca.crt",
	"an RSA key of 1024 bits",
	"a directory where a file should be",
	"certs read-only and empty",
	"a ca.crt limited to clientAuth",
	"a docker.crt naming another issuer than ca.crt, signed by its key",
}

func TestBadInputInAContainer(t *testing.T) {
	img := image(t)
	priv, err := harness.Probe(img)
	if err != nil {
		t.Fatal(err)
	}
	m := newMaterial(t)
	// A user-defined network: nothing here depends on the default bridge.
	network := harness.Network(t, "bad")
	cases := map[string]badCase{}
	for _, c := range badInputs {
		cases[c.name] = c
	}
	for _, name := range containerSample {
		c, ok := cases[name]
		if !ok {
			t.Fatalf("no bad input named %q", name)
		}
		t.Run(c.name, func(t *testing.T) {
			figures.Case(t, "bad input, container")
			badInContainer(t, img, priv, network, m, c)
		})
	}
}

// dindBadInputs are docker:dind users' bad inputs, through a container only: the
// engine's configuration file mounted at /etc/docker/daemon.json, an
// argument only the engine can refuse, a container without privileges. The
// containers run as a docker:dind service does, with DOCKER_TLS_CERTDIR=/certs
// on an empty /certs volume (but the engine's flag, in plain mode): the
// volume must stay empty.
var dindBadInputs = []badCase{
	// The missing comma ends line 2: the decoder stops on line 3.
	{name: "daemon.json that is not JSON", daemonJSON: "{\n  \"debug\": true\n  \"mtu\": 1400\n}\n", env: dindEnv, code: 2,
		want: []string{"{daemon}", "not valid JSON", "line 3"}},
	{name: "daemon.json hosts with -local", daemonJSON: `{"hosts": ["tcp://0.0.0.0:2375"]}`, env: dindEnv, args: []string{"-local"}, code: 2,
		want: []string{"{daemon}", "hosts", "-local"}},
	{name: "daemon.json storage-driver contradicting -storage", daemonJSON: `{"storage-driver": "vfs"}`, env: dindEnv, args: []string{"-storage", "overlay2"}, code: 2,
		want: []string{"-storage overlay2", "contradicts {daemon}: storage-driver"}},
	{name: "-local with the engine's TCP host", args: []string{"-local", "--host=tcp://0.0.0.0:2375"}, code: 2,
		want: []string{"--host=tcp://0.0.0.0:2375 (engine argument) contradicts -local"}},
	{name: "-local with the engine's short TCP host after --", args: []string{"-local", "--", "-Htcp://0.0.0.0:2375"}, code: 2,
		want: []string{"-Htcp://0.0.0.0:2375 (engine argument) contradicts -local"}},
	{name: "DOCKER_TLS_CERTDIR with the engine's verification off", env: dindEnv, args: []string{"--", "--tlsverify=false"}, code: 2,
		want: []string{"--tlsverify=false (engine argument) contradicts DOCKER_TLS_CERTDIR=/certs"}},
	{name: "daemon.json's tlsverify false under DOCKER_TLS_CERTDIR", daemonJSON: `{"tlsverify": false}`, env: dindEnv, code: 2,
		want: []string{"{daemon}: tlsverify contradicts DOCKER_TLS_CERTDIR=/certs"}},
	// The engine would take no TLS file from its command line (dinv's certificates).
	{name: "daemon.json's tls and tlsverify without its TLS files", daemonJSON: `{"tls": true, "tlsverify": true}`, env: dindEnv, code: 2,
		want: []string{"{daemon}: tls and {daemon}: tlsverify turn TLS on", "add tlscacert, tlscert and tlskey"}},
	// dinv passes it on; dockerd refuses it: dinv reports the engine's
	// line that names the flag, with the engine's status.
	{name: "an engine flag dockerd refuses", args: []string{"--no-such-engine-flag=1"}, code: 1,
		want: []string{"unknown flag: --no-such-engine-flag"}},
	{name: "no privileges (run without the probed options)", unprivileged: true, env: dindEnv, code: 1,
		want: []string{"--privileged", "CAP_SYS_ADMIN"}},
}

// dindEnv is a docker:dind service's environment.
var dindEnv = []string{"DOCKER_TLS_CERTDIR=/certs"}

func TestDindBadInputInAContainer(t *testing.T) {
	img := image(t)
	priv, err := harness.Probe(img)
	if err != nil {
		t.Fatal(err)
	}
	m := newMaterial(t)
	network := harness.Network(t, "bad-dind")
	for _, c := range dindBadInputs {
		t.Run(c.name, func(t *testing.T) {
			figures.Case(t, "docker:dind drop-in bad input, container")
			badInContainer(t, img, priv, network, m, c)
		})
	}
}

// badInContainer runs one bad input through a DinV container on network: its
// /certs a volume prepared as the case says (empty when it says nothing),
// started attached; the exit code, the one ERROR line, no engine and the
// volume unchanged are checked.
func badInContainer(t *testing.T, img string, priv harness.Privileges, network string, m *material, c badCase) {
	t.Helper()
	src := t.TempDir()
	cname := harness.Name("bad")
	args := []string{"create", "--name", cname, "--network", network}
	if !c.unprivileged {
		args = append(args, priv.Options...)
	}
	for _, e := range c.env {
		args = append(args, "-e", e)
	}
	vol := harness.Volume(t, "certs")
	mount := vol + ":/certs"
	if c.ro {
		mount += ":ro"
	}
	args = append(args, "-v", mount)
	// Registered after the volume's removal: runs before it.
	t.Cleanup(func() { harness.Client{}.Try(t, "rm", "-f", "-v", cname) })
	dinvArgs := c.args
	if c.yaml != "" {
		y := filepath.Join(t.TempDir(), "stages.yaml")
		if err := os.WriteFile(y, []byte(c.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-v", y+":/stages.yaml:ro")
		dinvArgs = append([]string{"-config", "/stages.yaml"}, dinvArgs...)
	}
	if c.daemonJSON != "" {
		j := filepath.Join(t.TempDir(), "daemon.json")
		if err := os.WriteFile(j, []byte(c.daemonJSON), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-v", j+":/etc/docker/daemon.json:ro")
	}
	args = append(append(args, img), dinvArgs...)
	harness.Client{}.Run(t, args...)
	if c.certs != nil {
		writeCerts(t, src, c.certs(t, m))
		harness.Client{}.Run(t, "cp", src+"/.", cname+":/certs")
	}
	harness.Client{}.Try(t, "start", "-a", cname)
	code := harness.Client{}.Run(t, "inspect", "-f", "{{.State.ExitCode}}", cname)
	r := harness.Client{}.Try(t, "logs", cname)
	log := r.Stdout + r.Stderr
	expand := strings.NewReplacer("{certs}", "/certs", "{config}", "/stages.yaml", "{daemon}", "/etc/docker/daemon.json").Replace
	checkRefused(t, c, atoi(t, code), log, expand)
	for _, started := range []string{"Starting up", "API listen on"} {
		if strings.Contains(log, started) {
			t.Errorf("an engine started (%q in the log):\n%s", started, log)
		}
	}
	out := t.TempDir()
	harness.Client{}.Run(t, "cp", cname+":/certs/.", out)
	if d := diffSnapshots(snapshot(t, src), snapshot(t, out)); len(d) > 0 {
		t.Errorf("the /certs volume changed: %s", strings.Join(d, "; "))
	}
}
