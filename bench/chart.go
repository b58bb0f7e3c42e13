package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// The chart of `make bench` (docs/performance-start.svg): start to the first
// answer, per tag and mode, DinV against its references, drawn from the
// results each run writes with -results. A plain SVG writer: no dependency,
// nothing but the results goes in.

// chartBar is one contender of a group: its start-to-ready samples in ms.
type chartBar struct {
	Name      string    `json:"name"` // "DinV", "bare engine", ...
	SamplesMS []float64 `json:"samples_ms"`
}

// chartGroup is the bars of one tag and mode, started in the same rounds.
type chartGroup struct {
	Tag  string     `json:"tag"`  // the engine's major.minor: "28.5"
	Mode string     `json:"mode"` // "plain", "-tlsverify", "least privilege", ...
	Bars []chartBar `json:"bars"`
}

// benchResults are what one run writes with -results: the groups of its
// image, and what it ran on.
type benchResults struct {
	Image   string       `json:"image"`
	Engine  string       `json:"engine"`
	Rounds  int          `json:"rounds"`
	Machine string       `json:"machine"`
	Date    string       `json:"date"`
	Groups  []chartGroup `json:"groups"`
}

// toMS converts samples to milliseconds for the results file.
func toMS(s samples) []float64 {
	out := make([]float64, len(s))
	for i, d := range s {
		out[i] = float64(d) / float64(time.Millisecond)
	}
	return out
}

// majorMinor is "28.5" of an engine version "28.5.2".
func majorMinor(version string) string {
	v := strings.SplitN(version, ".", 3)
	if len(v) < 2 {
		return version
	}
	return v[0] + "." + v[1]
}

// writeResults writes r as indented JSON to path.
func writeResults(path string, r benchResults) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// readResults reads the results files a chart is drawn from, in order.
func readResults(paths []string) ([]benchResults, error) {
	var all []benchResults
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var r benchResults
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		all = append(all, r)
	}
	return all, nil
}

// chart layout, in SVG user units (pixels).
const (
	chartWidth   = 820
	chartLabelW  = 230 // the bar names' column
	chartRightW  = 90  // room for the value after the longest whisker
	chartBarH    = 14
	chartBarGap  = 4
	chartGroupH  = 22 // a group's heading
	chartGroupGp = 10
	chartTop     = 64 // title, note and legend
	chartAxisH   = 40
)

// barColours are given to the bar names in the order they first appear.
var barColours = []string{"#1f77b4", "#7fb8e0", "#9aa5b1", "#2ca02c", "#ff7f0e", "#8c564b"}

// writeStartChart draws groups as horizontal bars (the median) with a
// whisker from the fastest to the slowest start, grouped by tag and mode,
// on one scale from 0 to a round number above the slowest start. title and
// note (its lines split at "\n") head the chart.
func writeStartChart(w io.Writer, title, note string, groups []chartGroup) error {
	var max float64
	colour := map[string]string{}
	var names []string
	rows := 0
	for _, g := range groups {
		for _, b := range g.Bars {
			if len(b.SamplesMS) == 0 {
				return fmt.Errorf("%s %s %s: no samples", g.Tag, g.Mode, b.Name)
			}
			if _, ok := colour[b.Name]; !ok {
				colour[b.Name] = barColours[len(names)%len(barColours)]
				names = append(names, b.Name)
			}
			max = math.Max(max, sorted(b.SamplesMS)[len(b.SamplesMS)-1])
			rows++
		}
	}
	if rows == 0 {
		return fmt.Errorf("no bars to draw")
	}
	top, step := axisScale(max)
	plotW := float64(chartWidth - chartLabelW - chartRightW)
	x := func(v float64) float64 { return chartLabelW + v/top*plotW }
	notes := strings.Split(note, "\n")
	top0 := float64(chartTop + 16*(len(notes)-1)) // the first group's top
	height := int(top0) + len(groups)*(chartGroupH+chartGroupGp) + rows*(chartBarH+chartBarGap) + chartAxisH

	p := &svgWriter{w: w}
	p.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	p.printf(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p.printf(`<text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", esc(title))
	for i, n := range notes {
		p.printf(`<text class="note" x="10" y="%d" fill="#555555">%s</text>`+"\n", 38+16*i, esc(n))
	}
	lx := 10.0
	for _, n := range names {
		p.printf(`<rect x="%.0f" y="%.0f" width="12" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			lx, top0-16, colour[n], lx+16, top0-7, esc(n))
		lx += 16 + float64(len(n))*7 + 18
	}

	y := top0
	plotTop := y
	for _, g := range groups {
		y += chartGroupH
		p.printf(`<text class="group" x="10" y="%.0f" font-weight="bold">%s</text>`+"\n", y-6, esc(groupLabel(g)))
		for _, b := range g.Bars {
			s := sorted(b.SamplesMS)
			med, lo, hi := median(b.SamplesMS), s[0], s[len(s)-1]
			mid := y + chartBarH/2
			p.printf(`<text class="label" x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", chartLabelW-8, mid+4, esc(b.Name))
			p.printf(`<rect class="bar" x="%d" y="%.0f" width="%.2f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
				chartLabelW, y, x(med)-chartLabelW, chartBarH, colour[b.Name],
				esc(fmt.Sprintf("%s, %s: median %s, fastest %s, slowest %s, %d starts", groupLabel(g), b.Name, msLabel(med), msLabel(lo), msLabel(hi), len(s))))
			p.printf(`<path class="whisker" d="M%.2f %.1fH%.2fM%.2f %.0fV%.0fM%.2f %.0fV%.0f" stroke="#333333" fill="none"/>`+"\n",
				x(lo), mid, x(hi), x(lo), y+3, y+chartBarH-3, x(hi), y+3, y+chartBarH-3)
			p.printf(`<text class="value" x="%.2f" y="%.1f">%s</text>`+"\n", math.Max(x(hi), x(med))+5, mid+4, esc(msLabel(med)))
			y += chartBarH + chartBarGap
		}
		y += chartGroupGp
	}
	for v := 0.0; v <= top+step/2; v += step {
		p.printf(`<line x1="%.2f" y1="%.0f" x2="%.2f" y2="%.0f" stroke="#dddddd"/>`+"\n", x(v), plotTop, x(v), y)
		p.printf(`<text class="tick" x="%.2f" y="%.0f" text-anchor="middle" fill="#555555">%s</text>`+"\n", x(v), y+16, esc(tickLabel(v)))
	}
	p.printf(`<text x="%.0f" y="%.0f" text-anchor="middle" fill="#555555">start to first answer (bar: median; line: fastest to slowest)</text>`+"\n",
		chartLabelW+plotW/2, y+32)
	p.printf("</svg>\n")
	return p.err
}

// groupLabel heads a group: "dinv 28.5, plain".
func groupLabel(g chartGroup) string { return "dinv " + g.Tag + ", " + g.Mode }

// axisScale is the axis's end and its tick step for values up to max: a
// step of 1, 2 or 5 times a power of ten giving at most 8 ticks, and the
// first multiple of it at or above max.
func axisScale(max float64) (top, step float64) {
	if max <= 0 {
		return 1, 1
	}
	p := math.Pow(10, math.Floor(math.Log10(max/8)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * p; max/step <= 8 {
			break
		}
	}
	return math.Ceil(max/step) * step, step
}

// msLabel writes a time in ms as the tables do: "453 ms", "1.55 s".
func msLabel(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	case v < 1000:
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.2f s", v/1000)
	}
}

// tickLabel writes an axis tick: "0", "500 ms", "2 s", "1.5 s".
func tickLabel(v float64) string {
	if v < 1000 {
		return msLabel(v)
	}
	return strconv.FormatFloat(v/1000, 'f', -1, 64) + " s"
}

// esc escapes text for XML character data and attribute values.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// svgWriter keeps the first write error.
type svgWriter struct {
	w   io.Writer
	err error
}

func (p *svgWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// drawChart reads the results files and writes the chart to out.
func drawChart(out string, paths []string) error {
	all, err := readResults(paths)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("-chart: no results files")
	}
	var groups []chartGroup
	var rounds []string
	for _, r := range all {
		groups = append(groups, r.Groups...)
		rounds = append(rounds, fmt.Sprintf("%d (%s)", r.Rounds, majorMinor(r.Engine)))
	}
	var loads []string
	for _, r := range all {
		if _, load, ok := strings.Cut(r.Machine, ", load "); ok {
			loads = append(loads, strings.Fields(load)[0])
		}
	}
	machine, _, _ := strings.Cut(all[0].Machine, ", load")
	note := fmt.Sprintf("make bench, %s, %s\nrounds: %s", all[0].Date, machine, strings.Join(rounds, ", "))
	if len(loads) > 0 {
		note += "; load average at each run's end: " + strings.Join(loads, ", ")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	err = writeStartChart(f, "DinV: start to first answer, per engine and mode", note, groups)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
