package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svgElement is what the tests read back of the chart: every element with
// its class, geometry, text and title.
type svgElement struct {
	name, class, title, text string
	x, width                 float64
}

// parseSVG decodes the whole document with encoding/xml, failing the test
// when it is not well-formed XML with an <svg> root.
func parseSVG(t *testing.T, b []byte) []svgElement {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var out []svgElement
	var stack []int // indexes into out of the open elements
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			e := svgElement{name: tok.Name.Local}
			for _, a := range tok.Attr {
				switch a.Name.Local {
				case "class":
					e.class = a.Value
				case "x":
					e.x, _ = strconv.ParseFloat(a.Value, 64)
				case "width":
					e.width, _ = strconv.ParseFloat(a.Value, 64)
				}
			}
			out = append(out, e)
			stack = append(stack, len(out)-1)
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			top := &out[stack[len(stack)-1]]
			if top.name == "title" && len(stack) > 1 {
				out[stack[len(stack)-2]].title += string(tok)
			}
			top.text += string(tok)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return out
}

func vals(v ...float64) []float64 { return v }

func TestStartChartHasALabelledBarPerContenderScaledToTheData(t *testing.T) {
	groups := []chartGroup{
		{Tag: "26.1", Mode: "plain", Bars: []chartBar{{barDinV, vals(450, 400, 500)}, {barBare, vals(1500, 1450, 2900)}}},
		{Tag: "28.5", Mode: "-tlsverify", Bars: []chartBar{{barDinV, vals(460)}, {barHand, vals(470, 480)}}},
	}
	var buf bytes.Buffer
	if err := writeStartChart(&buf, "title <&>", "note", groups); err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, buf.Bytes())

	var bars, labels, groupsSeen, values []svgElement
	for _, e := range els {
		switch e.class {
		case "bar":
			bars = append(bars, e)
		case "label":
			labels = append(labels, e)
		case "group":
			groupsSeen = append(groupsSeen, e)
		case "value":
			values = append(values, e)
		}
	}
	wantBars := []struct {
		label, median, title string
		medianMS             float64
	}{
		{barDinV, "450 ms", "dinv 26.1, plain, DinV: median 450 ms, fastest 400 ms, slowest 500 ms, 3 starts", 450},
		{barBare, "1.50 s", "dinv 26.1, plain, bare engine: median 1.50 s, fastest 1.45 s, slowest 2.90 s, 3 starts", 1500},
		{barDinV, "460 ms", "dinv 28.5, -tlsverify, DinV: median 460 ms, fastest 460 ms, slowest 460 ms, 1 starts", 460},
		{barHand, "475 ms", "dinv 28.5, -tlsverify, by hand with activation: median 475 ms, fastest 470 ms, slowest 480 ms, 2 starts", 475},
	}
	if len(bars) != len(wantBars) || len(labels) != len(wantBars) || len(values) != len(wantBars) {
		t.Fatalf("%d bars, %d labels, %d values; want %d each", len(bars), len(labels), len(values), len(wantBars))
	}
	if len(groupsSeen) != 2 || groupsSeen[0].text != "dinv 26.1, plain" || groupsSeen[1].text != "dinv 28.5, -tlsverify" {
		t.Errorf("group headings %+v", groupsSeen)
	}
	// One scale: every bar's width is its median times the same factor, and
	// the slowest start (2900 ms) fits in the plot (the axis ends at 3 s).
	perMS := bars[0].width / 450
	for i, w := range wantBars {
		if labels[i].text != w.label || values[i].text != w.median || bars[i].title != w.title {
			t.Errorf("bar %d: label %q, value %q, title %q; want %q, %q, %q", i, labels[i].text, values[i].text, bars[i].title, w.label, w.median, w.title)
		}
		if got := bars[i].width / w.medianMS; math.Abs(got-perMS) > 1e-3 {
			t.Errorf("bar %d: %.4f units per ms, bar 0 has %.4f", i, got, perMS)
		}
	}
	plotW := float64(chartWidth - chartLabelW - chartRightW)
	if got, want := perMS*3000, plotW; math.Abs(got-want) > 0.5 {
		t.Errorf("3000 ms spans %.1f units, want the plot's %.1f", got, want)
	}
	if !strings.Contains(buf.String(), "title &lt;&amp;&gt;") {
		t.Error("the title is not escaped")
	}
}

func TestStartChartRefusesNothingToDraw(t *testing.T) {
	var buf bytes.Buffer
	if err := writeStartChart(&buf, "t", "n", nil); err == nil {
		t.Error("no groups: no error")
	}
	if err := writeStartChart(&buf, "t", "n", []chartGroup{{Tag: "28.5", Mode: "plain", Bars: []chartBar{{barDinV, nil}}}}); err == nil {
		t.Error("a bar without samples: no error")
	}
}

func TestTicksAreShortRoundNumbers(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 500: "500 ms", 2000: "2 s", 1500: "1.5 s", 12000: "12 s"} {
		if got := tickLabel(v); got != want {
			t.Errorf("tickLabel(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestAxisScaleEndsOnARoundNumberAboveTheSlowest(t *testing.T) {
	tests := []struct {
		max, top, step float64
	}{
		{2900, 3000, 500},
		{453, 500, 100},
		{1000, 1000, 200},
		{17300, 20000, 5000},
		{0, 1, 1},
	}
	for _, tt := range tests {
		top, step := axisScale(tt.max)
		if top != tt.top || step != tt.step {
			t.Errorf("axisScale(%v) = %v, %v; want %v, %v", tt.max, top, step, tt.top, tt.step)
		}
	}
}

func TestChartIsDrawnFromTheResultsFilesOfARun(t *testing.T) {
	dir := t.TempDir()
	got := [][]samples{
		{{400 * time.Millisecond}, {1500 * time.Millisecond}, {410 * time.Millisecond}},
		{{420 * time.Millisecond}, {430 * time.Millisecond}, {425 * time.Millisecond}, {460 * time.Millisecond}},
	}
	rootless := &sandboxRow{mode: "rootless", image: "dinv:28.5-rootless", ready: [2]samples{{2 * time.Second}, {700 * time.Millisecond}}}
	skipped := &sandboxRow{mode: "gVisor", image: "dinv:26.1"}
	groups := startGroups("28.5", got, []*sandboxRow{rootless, skipped}, func(image string) string {
		return strings.TrimSuffix(tag(image), "-rootless")
	})
	var modes []string
	for _, g := range groups {
		modes = append(modes, g.Tag+" "+g.Mode)
	}
	if strings.Join(modes, "; ") != "28.5 plain; 28.5 -tlsverify; 28.5 rootless" {
		t.Errorf("groups %q", modes)
	}
	if b := groups[0].Bars; b[0].Name != barDinV || b[0].SamplesMS[0] != 400 || b[2].Name != barBare || b[2].SamplesMS[0] != 1500 {
		t.Errorf("plain bars %+v", b)
	}
	if b := groups[1].Bars; len(b) != 4 || b[3].Name != barCold || b[3].SamplesMS[0] != 460 {
		t.Errorf("-tlsverify bars %+v", b)
	}
	path := filepath.Join(dir, "28.5.json")
	if err := writeResults(path, benchResults{Image: "dinv:28.5", Engine: "28.5.2", Rounds: 1,
		Machine: "2 CPUs, Linux 6.18, host engine 20.10.24, load 1.5 1 1", Date: "2026-12-04", Groups: groups}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "chart.svg")
	if err := drawChart(out, []string{path}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, b)
	n := 0
	for _, e := range els {
		if e.class == "bar" {
			n++
		}
	}
	if n != 9 {
		t.Errorf("%d bars, want 9 (3 plain, 4 -tlsverify, 2 rootless)", n)
	}
	var notes []string
	for _, e := range els {
		if e.class == "note" {
			notes = append(notes, e.text)
		}
	}
	if want := []string{"make bench, 2026-12-04, 2 CPUs, Linux 6.18, host engine 20.10.24", "rounds: 1 (28.5); load average at each run's end: 1.5"}; !slices.Equal(notes, want) {
		t.Errorf("the note says %q, want %q (how the figures were made)", notes, want)
	}
}

// tag is the part of an image reference after its last colon.
func tag(image string) string { return image[strings.LastIndex(image, ":")+1:] }
