//go:build e2e

// Package e2e proves the documentation's examples on real DinV containers of
// every dinv:<major.minor> image on the machine's Docker engine (`make e2e`,
// after `make images`). The README's quick start and examples are read from
// README.md and run line by line as a user pastes them, with the image name,
// unique names, free ports and the probed privileges filled in (readme_test.go).
package e2e

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/dinv/dinv/test/harness"
)

// TestMain removes what killed runs of this suite left on the engine (every
// container, volume and network the suite makes carries the label
// org.dinv.test=e2e), runs the tests, then removes whatever a test's cleanup
// missed, which fails the run.
//
// Run with DINV_E2E_README_DOCKER set, the test binary is the `docker` of
// the README's lines instead (readmeDocker).
func TestMain(m *testing.M) {
	if world := os.Getenv(readmeDockerEnv); world != "" {
		os.Exit(readmeDocker(world, os.Args[1:]))
	}
	harness.BeginSuite("e2e")
	code := m.Run()
	if !harness.EndSuite() && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// The images the tests load into DinV hosts (images/testimages.sh).
const (
	busybox  = "dinv-test-busybox"
	registry = "dinv-test-registry"
)

// versionTag: dinv:<major.minor>, or dinv:<major> from Docker 29 on (dinv:29,
// built from moby's Go module: images/build.sh).
var versionTag = regexp.MustCompile(`^dinv:[0-9]+(\.[0-9]+)?$`)

// dinvImages lists the dinv:<major.minor> (and dinv:<major>) images on the
// machine's engine, oldest engine first; IMAGES (space-separated, any
// name:<major.minor> or name:<major>) replaces the list.
func dinvImages(t *testing.T) []string {
	t.Helper()
	out := harness.Client{}.Run(t, "images", "--format", "{{.Repository}}:{{.Tag}}", "dinv")
	var images []string
	for _, line := range strings.Fields(out) {
		if versionTag.MatchString(line) {
			images = append(images, line)
		}
	}
	if want := os.Getenv("IMAGES"); want != "" {
		images = strings.Fields(want)
	}
	if len(images) == 0 {
		t.Fatal("no dinv:<major.minor> image on the engine: run `make images`")
	}
	sort.Slice(images, func(i, j int) bool { return versionLess(images[i], images[j]) })
	return images
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(tag(a), "."), strings.Split(tag(b), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if len(pa[i]) != len(pb[i]) {
			return len(pa[i]) < len(pb[i])
		}
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return len(pa) < len(pb)
}

// tag is the part of an image reference after its last colon.
func tag(image string) string {
	return image[strings.LastIndex(image, ":")+1:]
}

// engineVersion is the engine version an image carries (its label), checked
// against its tag.
func engineVersion(t *testing.T, image string) string {
	t.Helper()
	v := harness.Client{}.Run(t, "image", "inspect", "-f", `{{index .Config.Labels "org.dinv.engine-version"}}`, image)
	if v == "" || !strings.HasPrefix(v+".", tag(image)+".") {
		t.Fatalf("%s: engine version label %q does not match the tag", image, v)
	}
	return v
}

// requireTestImages fails when an image the tests load is missing.
func requireTestImages(t *testing.T) {
	t.Helper()
	for _, img := range []string{busybox, registry} {
		if r := (harness.Client{}).Try(t, "image", "inspect", img); r.ExitCode != 0 {
			t.Fatalf("test image %s missing: run `make images`", img)
		}
	}
}
