//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// Docker 29 (dinv:29, built from moby's Go module: images/engine29) where a
// DinD host meets what 29 changed: the version it reports, containerd's
// image store on each data root DinV meets, and the API version window.

// engine29Images are the images among dinvImages whose engine is Docker 29
// or later; the test says so and stops when IMAGES names none.
func engine29Images(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, image := range dinvImages(t) {
		v := engineVersion(t, image)
		if major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0]); err == nil && major >= 29 {
			out = append(out, image)
		}
	}
	switch {
	case len(out) == 0 && os.Getenv("IMAGES") == "":
		t.Fatal("no Docker 29 image on the engine: run `make images` (it builds dinv:29)")
	case len(out) == 0:
		t.Skip("IMAGES names no Docker 29 image")
	}
	return out
}

// overlayDriver is what `docker info` calls the overlay storage of an engine
// of version on a volume: Docker 29 keeps images in containerd's image
// store, its overlayfs snapshotter (docs/engine-29.md), older engines in the
// overlay2 graph driver.
func overlayDriver(version string) string {
	if major, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0]); err == nil && major >= 29 {
		return "overlayfs"
	}
	return "overlay2"
}

// TestEngine29ReportsItsVersion: `docker version` and `docker info` of a
// dinv:29 host report the version the image's label and tag carry, the one
// images/engine29/build.sh derived from the moby module's own files.
func TestEngine29ReportsItsVersion(t *testing.T) {
	for _, image := range engine29Images(t) {
		t.Run(image, func(t *testing.T) {
			want := engineVersion(t, image)
			port := strconv.Itoa(harness.FreePort(t))
			d := harness.Start(t, harness.Options{Image: image, Run: []string{"-p", "127.0.0.1:" + port + ":2375"}})
			d.WaitReady(t, "127.0.0.1:"+port, nil)
			host := harness.Client{Host: "tcp://127.0.0.1:" + port}
			if got := host.Run(t, "version", "--format", "{{.Server.Version}}"); got != want {
				t.Errorf("docker version: server %q, want %q (the image's label)", got, want)
			}
			if got := host.Run(t, "info", "--format", "{{.ServerVersion}}"); got != want {
				t.Errorf("docker info: server version %q, want %q", got, want)
			}
			if got := d.Exec(t, "dockerd", "--version").Stdout; !strings.HasPrefix(got, "Docker version "+want+", build v2.") {
				t.Errorf("dockerd --version = %q, want %s with the moby module's version as its build", got, want)
			}
		})
	}
}

// TestEngine29StorageOnEveryDataRoot: a data root on the anonymous volume
// (ext4 here), on the container's own overlayfs (no volume), on a tmpfs,
// and the rootless engine's each give a working engine, which runs a
// container from a loaded image; dinv's log says which storage it chose and
// why, in one line.
func TestEngine29StorageOnEveryDataRoot(t *testing.T) {
	requireTestImages(t)
	for _, image := range engine29Images(t) {
		for _, tc := range []struct {
			name       string
			image      string
			privileges []string
			run        []string
			args       []string
			want       string // the line's storage choice
		}{
			{"the anonymous volume", image, nil, nil, nil, "image_store=containerd driver=overlayfs"},
			{"the container's own overlayfs (no volume)", image, nil, nil,
				[]string{"-data-root", "/srv/docker"}, "image_store=containerd driver=native"},
			{"a tmpfs", image, nil, []string{"--tmpfs", "/var/lib/docker:exec"}, nil, "image_store=containerd driver=overlayfs"},
			{"a graph driver named with -storage", image, nil, nil, []string{"-storage", "overlay2"}, "image_store=\"graph driver\" driver=overlay2"},
			{"the rootless engine on the anonymous volume", image + "-rootless", harness.Rootless, nil, nil,
				"image_store=containerd driver=overlayfs"},
		} {
			t.Run(image+" on "+tc.name, func(t *testing.T) {
				port := strconv.Itoa(harness.FreePort(t))
				d := harness.Start(t, harness.Options{Image: tc.image, Privileges: tc.privileges,
					Run: append([]string{"-p", "127.0.0.1:" + port + ":2375"}, tc.run...), Args: tc.args})
				d.WaitReady(t, "127.0.0.1:"+port, nil)
				logs := waitLogs(t, d, "storage")
				if n := strings.Count(logs, "image_store="); n != 1 || !strings.Contains(logs, tc.want) {
					t.Errorf("want one storage line with %q, got %d:\n%s", tc.want, n, logs)
				}
				host := harness.Client{Host: "tcp://127.0.0.1:" + port}
				driver := strings.TrimPrefix(strings.Fields(tc.want)[len(strings.Fields(tc.want))-1], "driver=")
				if got := host.Run(t, "info", "--format", "{{.Driver}}"); got != driver {
					t.Errorf("docker info: driver %q, want %q", got, driver)
				}
				harness.Load(t, host, busybox)
				if out := host.Run(t, "run", "--rm", busybox, "echo", "ran"); out != "ran" {
					t.Errorf("inner container said %q", out)
				}
			})
		}
	}
}

// TestEngine29APIVersionWindow: an old client's call (API 1.24, Docker 1.12:
// what Testcontainers 1.x and old docker:stable CLIs send) is refused by
// default, and admitted when the container is given DOCKER_MIN_API_VERSION,
// which dinv passes to the engine (the ordinary engine and the rootless one).
func TestEngine29APIVersionWindow(t *testing.T) {
	for _, image := range engine29Images(t) {
		for _, tc := range []struct {
			name       string
			image      string
			privileges []string
		}{
			{"", image, nil},
			{"rootless ", image + "-rootless", harness.Rootless},
		} {
			t.Run(tc.name+image, func(t *testing.T) {
				// host starts a DinV host with env and returns its GET.
				host := func(t *testing.T, env ...string) func(path string) (int, string) {
					port := strconv.Itoa(harness.FreePort(t))
					run := []string{"-p", "127.0.0.1:" + port + ":2375"}
					for _, e := range env {
						run = append(run, "-e", e)
					}
					d := harness.Start(t, harness.Options{Image: tc.image, Privileges: tc.privileges, Run: run})
					d.WaitReady(t, "127.0.0.1:"+port, nil)
					return func(path string) (int, string) {
						t.Helper()
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						code, body, err := harness.Get(ctx, harness.HTTPClient(nil, 10*time.Second), "http://127.0.0.1:"+port+path)
						if err != nil {
							t.Fatal(err)
						}
						return code, body
					}
				}
				get := host(t)
				for _, c := range []struct {
					path string
					code int
					body string
				}{
					{"/v1.24/version", http.StatusBadRequest, "too old"},
					{"/v1.39/version", http.StatusBadRequest, "too old"},
					{"/v1.40/version", http.StatusOK, `"ApiVersion"`}, // Docker 19.03's CLI (docker:stable)
				} {
					if code, body := get(c.path); code != c.code || !strings.Contains(body, c.body) {
						t.Errorf("by default, GET %s: %d %s; want %d (%s)", c.path, code, body, c.code, c.body)
					}
				}
				get = host(t, "DOCKER_MIN_API_VERSION=1.24")
				if code, body := get("/v1.24/version"); code != http.StatusOK || !strings.Contains(body, `"ApiVersion"`) {
					t.Errorf("with DOCKER_MIN_API_VERSION=1.24, GET /v1.24/version: %d %s; want 200", code, body)
				}
			})
		}
	}
}

// TestEngine29KeepsTheImagesOfAnOlderEngine: a data volume an older DinV
// host (overlay2) kept images in is taken over by a dinv:29 host, which
// keeps the graph driver (and says so) instead of starting an empty image
// store: the images are there and run.
func TestEngine29KeepsTheImagesOfAnOlderEngine(t *testing.T) {
	requireTestImages(t)
	var older string
	for _, image := range dinvImages(t) {
		if overlayDriver(engineVersion(t, image)) == "overlay2" && !strings.HasPrefix(engineVersion(t, image), "1.") {
			older = image // the newest older engine: the list is oldest first
		}
	}
	if older == "" {
		t.Skip("no image of an engine before 29 among the images under test (IMAGES)")
	}
	for _, image := range engine29Images(t) {
		t.Run(older+" then "+image, func(t *testing.T) {
			data := harness.Volume(t, "data")
			port := strconv.Itoa(harness.FreePort(t))
			opts := harness.Options{Image: older, Run: []string{"-p", "127.0.0.1:" + port + ":2375", "-v", data + ":/var/lib/docker"}}
			first := harness.Start(t, opts)
			first.WaitReady(t, "127.0.0.1:"+port, nil)
			host := harness.Client{Host: "tcp://127.0.0.1:" + port}
			harness.Load(t, host, busybox)
			host.Run(t, "tag", busybox, "kept:v1")
			harness.Client{}.Run(t, "stop", first.Name)
			first.Remove(t)

			opts.Image, opts.Name = image, ""
			second := harness.Start(t, opts)
			second.WaitReady(t, "127.0.0.1:"+port, nil)
			if logs := waitLogs(t, second, "image_store="); !strings.Contains(logs, `image_store="graph driver" driver=overlay2`) ||
				!strings.Contains(logs, "holds the images of graph driver overlay2") {
				t.Errorf("want the storage line keeping overlay2:\n%s", logs)
			}
			if out := host.Run(t, "run", "--rm", "kept:v1", "echo", "still-here"); out != "still-here" {
				t.Errorf("run of the kept image printed %q", out)
			}
		})
	}
}
