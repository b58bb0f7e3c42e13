package main

import (
	"strings"
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
		{"dinv:latest", "29.8.1-dev", "dinv:29-rootless"},
		{"dinv-h18:29", "29.8.1-dev", "dinv-h18:29-rootless"},
	} {
		if got := rootlessTag(c[0], c[1]); got != c[2] {
			t.Errorf("rootlessTag(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestRotationStartsEachFirstInTurn(t *testing.T) {
	for n := 1; n <= 4; n++ {
		first := map[int]int{}
		for r := 1; r <= n; r++ {
			order := rotation(n, r)
			seen := map[int]bool{}
			for _, j := range order {
				seen[j] = true
			}
			if len(order) != n || len(seen) != n {
				t.Fatalf("rotation(%d, %d) = %v: not each contender once", n, r, order)
			}
			first[order[0]]++
		}
		if len(first) != n {
			t.Errorf("over %d rounds of %d contenders, the first ones were %v: not each once", n, n, first)
		}
	}
	if got := rotation(2, 2); got[0] != 1 || got[1] != 0 {
		t.Errorf("rotation(2, 2) = %v, want [1 0] (AB, BA, ...)", got)
	}
}

func TestRatesAndThroughput(t *testing.T) {
	if got := (rates{120, 100, 110}).summary(); got != "110 MB/s (100-120)" {
		t.Errorf("rates summary = %q", got)
	}
	if got := mbps(200e6, 2*time.Second); got != 100 {
		t.Errorf("mbps = %v, want 100", got)
	}
	var b strings.Builder
	tp := throughput{size: 200e6, load: [2]rates{{97, 100}, {100, 100}}, save: [2]rates{{90}, {100}}}
	tp.rows(&b)
	out := b.String()
	for _, want := range []string{"| 0.985 | ratio 0.985 | >= 0.97: met |", "| 0.900 | ratio 0.900 | >= 0.97: MISSED |", "a 200 MB image"} {
		if !strings.Contains(out, want) {
			t.Errorf("throughput rows lack %q:\n%s", want, out)
		}
	}
}
