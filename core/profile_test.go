package core

import (
	"strings"
	"testing"
)

func TestMatchProfile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reported string
		want     string
		exact    bool
		err      string
	}{
		{"Debian's 20.10 matches exactly", "Docker version 20.10.24+dfsg1, build 297e128", "20.10", true, ""},
		{"26.1 matches exactly", "Docker version 26.1.5+dfsg1, build a72d7cd", "26.1", true, ""},
		{"28.5 matches exactly", "Docker version 28.5.2+dfsg1, build 5d6db84", "28.5", true, ""},
		{"an old 1.12 matches exactly", "Docker version 1.12.6, build 78d1802", "1.12", true, ""},
		{"27.3 takes the newest older profile", "Docker version 27.3.1, build ce12230", "26.1", false, ""},
		{"29.0 matches the whole-major profile 29", "Docker version 29.0.0, build 1", "29", true, ""},
		{"dinv:29's development version matches 29", "Docker version 29.8.1-dev, build v2.0.0-beta.24", "29", true, ""},
		{"28.9 still takes 28.5, not 29", "Docker version 28.9.0, build 1", "28.5", false, ""},
		{"30.1 takes the newest profile", "Docker version 30.1.0, build 1", "29", false, ""},
		{"17.03 falls back to 1.13", "Docker version 17.03.2-ce, build f5ec1e2", "1.13", false, ""},
		{"1.11 is older than every profile", "Docker version 1.11.2, build b9f10c9", "", false, "older than every profile"},
		{"no number is an error", "dockerd: command not found", "", false, "no version number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, exact, err := MatchProfile(tc.reported)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Version != tc.want || exact != tc.exact {
				t.Errorf("got %s exact=%v, want %s exact=%v", p.Version, exact, tc.want, tc.exact)
			}
		})
	}
}

func TestFindProfileNamesKnownVersionsForAnUnknownOne(t *testing.T) {
	if p, err := FindProfile("26.1"); err != nil || p.Version != "26.1" {
		t.Fatalf("FindProfile(26.1) = %v, %v", p, err)
	}
	_, err := FindProfile("19.03")
	if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), "known: 1.12, 1.13, 20.10, 26.1, 28.5, 29") {
		t.Errorf("error = %v", err)
	}
}

func TestProfilesSpellTheirEngines(t *testing.T) {
	for _, tc := range []struct {
		version, daemon, dataRoot string
		tlsFalse, containerd      bool
	}{
		{"1.12", "docker daemon", "--graph", false, true},
		{"1.13", "dockerd", "--graph", false, false},
		{"20.10", "dockerd", "--data-root", true, false},
		{"26.1", "dockerd", "--data-root", true, false},
		{"28.5", "dockerd", "--data-root", true, false},
		{"29", "dockerd", "--data-root", true, false},
	} {
		p, err := FindProfile(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		a := p.Args
		if got := strings.Join(a.Daemon, " "); got != tc.daemon || a.DataRootFlag != tc.dataRoot ||
			a.TLSFalse != tc.tlsFalse || (a.Containerd != nil) != tc.containerd {
			t.Errorf("%s: daemon %q data root %q tls=false %v containerd %v", tc.version, got, a.DataRootFlag, a.TLSFalse, a.Containerd)
		}
		if !p.KnowsDriver("overlay2") || p.KnowsDriver("overlay3") {
			t.Errorf("%s: driver knowledge wrong", tc.version)
		}
	}
}

// Docker 29 keeps images in containerd's image store: its profile alone
// knows the snapshotters, and takes them as storage driver names.
func TestOnlyTheProfileOf29KnowsSnapshotters(t *testing.T) {
	for _, p := range Profiles {
		want := p.Version == "29"
		if got := p.KnowsDriver("overlayfs") && p.KnowsDriver("native") && p.IsSnapshotter("overlayfs"); got != want {
			t.Errorf("%s: knows the snapshotters = %v, want %v", p.Version, got, want)
		}
		if p.IsSnapshotter("overlay2") {
			t.Errorf("%s: overlay2 is a graph driver, not a snapshotter", p.Version)
		}
	}
}

func TestProfilesAreListedOldestFirst(t *testing.T) {
	for i := 1; i < len(Profiles); i++ {
		a, _ := parseProfileVersion(Profiles[i-1].Version)
		b, _ := parseProfileVersion(Profiles[i].Version)
		if !(a[0] < b[0] || a[0] == b[0] && a[1] < b[1]) {
			t.Errorf("profile %s comes after %s", Profiles[i].Version, Profiles[i-1].Version)
		}
	}
}

// The stages after the engine answers come last, in this order: the
// readiness report, then the swarm, which talks to the engine's API.
func TestDefaultStagesEndWithEngineReadySwarm(t *testing.T) {
	n := len(DefaultStages)
	if n < 3 || strings.Join(DefaultStages[n-3:], " ") != "engine ready swarm" {
		t.Errorf("default stages end %v, want engine, ready, swarm", DefaultStages)
	}
}

func TestMajorReadsEveryProfileVersion(t *testing.T) {
	for v, want := range map[string]int{"1.12": 1, "20.10": 20, "28.5": 28, "29": 29, "": 0, "x": 0} {
		if got := Major(v); got != want {
			t.Errorf("Major(%q) = %d, want %d", v, got, want)
		}
	}
}
