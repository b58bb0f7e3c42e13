package main

import (
	"testing"
	"time"
)

func TestMedianSummaryAndRatio(t *testing.T) {
	tests := []struct {
		name    string
		s       samples
		median  time.Duration
		summary string
	}{
		{"no samples have no median", nil, 0, "-"},
		{"an odd count takes the middle one", samples{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}, 20 * time.Millisecond, "20.0 ms (10.0 ms-30.0 ms)"},
		{"an even count takes the mean of the middle two", samples{4 * time.Second, time.Second, 2 * time.Second, 3 * time.Second}, 2500 * time.Millisecond, "2500 ms (1000 ms-4000 ms)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.median(); got != tt.median {
				t.Errorf("median = %v, want %v", got, tt.median)
			}
			if got := tt.s.summary(); got != tt.summary {
				t.Errorf("summary = %q, want %q", got, tt.summary)
			}
		})
	}
	if got := ratio(samples{1030 * time.Millisecond}, samples{time.Second}); got != "1.030" {
		t.Errorf("ratio = %q, want 1.030", got)
	}
	if got := (kib{2048, 1024, 4096}).summary(); got != "2.0 MiB (1.0 MiB-4.0 MiB)" {
		t.Errorf("kib summary = %q", got)
	}
}

func TestPairedDifferences(t *testing.T) {
	a := samples{110 * time.Millisecond, 300 * time.Millisecond, 205 * time.Millisecond}
	b := samples{100 * time.Millisecond, 290 * time.Millisecond, 200 * time.Millisecond}
	if got := delta(paired(a, b).median()); got != "+10.0 ms" {
		t.Errorf("paired median = %q, want +10.0 ms", got)
	}
	if got := delta(-4 * time.Millisecond); got != "-4.0 ms" {
		t.Errorf("delta = %q, want -4.0 ms", got)
	}
}

func TestRootlessTagFollowsTheEngineVersion(t *testing.T) {
	for _, c := range [][3]string{
		{"dinv:latest", "28.5.2", "dinv:28.5-rootless"},
		{"dinv-sandbox-dev:26.1", "26.1.5", "dinv-sandbox-dev:26.1-rootless"},
		{"localhost:5000/dinv", "28.5.2", "localhost:5000/dinv:28.5-rootless"},
	} {
		if got := rootlessTag(c[0], c[1]); got != c[2] {
			t.Errorf("rootlessTag(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
