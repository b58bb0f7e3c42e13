//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/dinv/dinv/test/harness"
)

// Every image has what the engine itself executes. `docker top`
// runs ps in the DinV container (found by a client library's integration
// suite: `exec: "ps": executable file not found in $PATH`); `docker load` of
// an xz-compressed image runs xz; unpigz unpacks gzip layers when present.
func TestEngineTools(t *testing.T) {
	requireTestImages(t)
	for _, image := range dinvImages(t) {
		t.Run(image, func(t *testing.T) {
			t.Parallel() // two images at a time (go test -parallel)
			network := harness.Network(t, "tools")
			d := harness.Start(t, harness.Options{Image: image, Run: []string{"--network", network}})
			addr := d.IP(t, network) + ":2375"
			d.WaitReady(t, addr, nil)
			host := harness.Client{Host: "tcp://" + addr}
			harness.Load(t, host, busybox)

			t.Run("the engine's helper programs are on its PATH", func(t *testing.T) {
				for _, prog := range []string{"ps", "xz", "unpigz"} {
					if r := d.Exec(t, "sh", "-c", "command -v "+prog); r.ExitCode != 0 {
						t.Errorf("%s: %s is not on the engine's PATH", image, prog)
					}
				}
			})
			t.Run("docker top of an inner container", func(t *testing.T) {
				host.Run(t, "run", "-d", "--name", "top", busybox, "sleep", "3600")
				out := host.Run(t, "top", "top")
				if !strings.Contains(out, "PID") || !strings.Contains(out, "sleep 3600") {
					t.Errorf("docker top: %q, want ps's table with sleep 3600", out)
				}
				// ps options pass through, as to ps itself.
				out = host.Run(t, "top", "top", "-o", "pid,comm")
				if !strings.Contains(out, "COMMAND") || !strings.Contains(out, "sleep") {
					t.Errorf("docker top -o pid,comm: %q", out)
				}
			})
			t.Run("docker load of an xz-compressed image", func(t *testing.T) {
				r := d.Exec(t, "sh", "-ec", `docker save -o /tmp/b.tar `+busybox+` && xz -T1 -0 /tmp/b.tar
docker image rm `+busybox+` >/dev/null && docker load -q -i /tmp/b.tar.xz && rm /tmp/b.tar.xz
docker run --rm `+busybox+` echo loaded`)
				if r.ExitCode != 0 || !strings.HasSuffix(r.Stdout, "loaded\n") {
					t.Errorf("docker load -i image.tar.xz:\n%s", r)
				}
			})
		})
	}
}
