package main

import (
	"fmt"
	"slices"
	"time"
)

// samples are the measurements of one contender, one per round.
type samples []time.Duration

// median is the middle sample (the mean of the two middle ones for an even
// count); 0 without samples.
func (s samples) median() time.Duration { return median(s) }

// summary is "median (min-max)" in milliseconds, or "-" without samples.
func (s samples) summary() string {
	if len(s) == 0 {
		return "-"
	}
	c := sorted(s)
	return fmt.Sprintf("%s (%s-%s)", ms(s.median()), ms(c[0]), ms(c[len(c)-1]))
}

// ms formats d in milliseconds: one decimal below 100 ms, none above.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	if f < 100 && f > -100 {
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.0f ms", f)
}

// delta formats d in milliseconds with its sign.
func delta(d time.Duration) string {
	if d < 0 {
		return "-" + ms(-d)
	}
	return "+" + ms(d)
}

// paired is each round's a minus b: a and b ran back to back, so the noise
// of a busy machine cancels better than in the medians.
func paired(a, b samples) samples {
	var d samples
	for i := 0; i < len(a) && i < len(b); i++ {
		d = append(d, a[i]-b[i])
	}
	return d
}

// ratio is a's median over b's, "-" when either has no samples.
func ratio(a, b samples) string {
	if len(a) == 0 || len(b) == 0 || b.median() == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", float64(a.median())/float64(b.median()))
}

// kib are memory sizes in KiB, one per round.
type kib []int64

func (k kib) summary() string {
	if len(k) == 0 {
		return "-"
	}
	c := sorted(k)
	return fmt.Sprintf("%s (%s-%s)", mib(median(k)), mib(c[0]), mib(c[len(c)-1]))
}

func mib(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }

// rates are throughputs in MB/s, one per round.
type rates []float64

func (r rates) median() float64 { return median(r) }

func (r rates) summary() string {
	if len(r) == 0 {
		return "-"
	}
	c := sorted(r)
	return fmt.Sprintf("%.0f MB/s (%.0f-%.0f)", median(r), c[0], c[len(c)-1])
}

// sorted returns a sorted copy of s.
func sorted[T time.Duration | int64 | float64](s []T) []T {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// median is the middle value of s (the mean of the two middle ones for an
// even count); 0 when s is empty.
func median[T time.Duration | int64 | float64](s []T) T {
	c := sorted(s)
	switch n := len(c); {
	case n == 0:
		return 0
	case n%2 == 1:
		return c[n/2]
	default:
		return (c[n/2-1] + c[n/2]) / 2
	}
}
