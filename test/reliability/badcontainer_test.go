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
			src := t.TempDir()
			cname := harness.Name("bad")
			args := append([]string{"create", "--name", cname, "--network", network}, priv.Options...)
			if c.certs != nil || c.ro {
				vol := harness.Volume(t, "certs")
				mount := vol + ":/certs"
				if c.ro {
					mount += ":ro"
				}
				args = append(args, "-v", mount)
			}
			// Registered after the volume's removal: runs before it.
			t.Cleanup(func() { harness.Client{}.Try(t, "rm", "-f", "-v", cname) })
			dinvArgs := c.args
			if c.yaml != "" {
				y := filepath.Join(src, "stages.yaml")
				if err := os.WriteFile(y, []byte(c.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-v", y+":/stages.yaml:ro")
				dinvArgs = append([]string{"-config", "/stages.yaml"}, dinvArgs...)
				src = t.TempDir()
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
			expand := strings.NewReplacer("{certs}", "/certs", "{config}", "/stages.yaml").Replace
			checkRefused(t, c, atoi(t, code), log, expand)
			for _, started := range []string{"Starting up", "API listen on"} {
				if strings.Contains(log, started) {
					t.Errorf("an engine started (%q in the log):\n%s", started, log)
				}
			}
			if c.certs != nil || c.ro {
				out := t.TempDir()
				harness.Client{}.Run(t, "cp", cname+":/certs/.", out)
				if d := diffSnapshots(snapshot(t, src), snapshot(t, out)); len(d) > 0 {
					t.Errorf("the /certs volume changed: %s", strings.Join(d, "; "))
				}
			}
		})
	}
}
