package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// Server-rendered SVG charts for the reports: no script, no build step;
// the numbers are also in the table under each chart (and its CSV).

// chartColors are distinguishable on white and for the common kinds of
// colour blindness (Okabe–Ito).
var chartColors = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999"}

// hbar is one horizontal bar: segments of values with a label.
type hbar struct {
	Label string
	Parts []float64
	Note  string // shown after the bar ("42 · 35 %")
}

// hbarChart draws horizontal (stacked) bars scaled to the largest total,
// in two sizes: a phone shows the narrow one, so that its text stays the
// size of the page's text instead of shrinking with a wide drawing.
func hbarChart(title string, bars []hbar, legend []string) template.HTML {
	return twoSizes(hbarSVG(title, bars, legend, chartWide), hbarSVG(title, bars, legend, chartNarrow))
}

// chartSize is the geometry of one size of a chart, in SVG units (about
// CSS pixels: each size is drawn for a screen about its width).
type chartSize struct {
	labelW, barW, noteW int // hbar: label column, bars, note after the bar
	width               int // vbar: the drawing's width
	labelClip           int // hbar: label characters kept
	legendPerRow        int
	legendStep          int
}

var (
	chartWide   = chartSize{labelW: 200, barW: 420, noteW: 160, width: 640, labelClip: 28, legendPerRow: 4, legendStep: 150}
	chartNarrow = chartSize{labelW: 135, barW: 125, noteW: 90, width: 350, labelClip: 15, legendPerRow: 2, legendStep: 165}
)

// twoSizes wraps the wide and the narrow drawing of a chart; the style
// sheet shows one of them by the screen's width.
func twoSizes(wide, narrow string) template.HTML {
	return template.HTML(`<div class="chart-wide">` + wide + `</div><div class="chart-narrow">` + narrow + `</div>`)
}

func hbarSVG(title string, bars []hbar, legend []string, sz chartSize) string {
	labelW, barW, noteW := sz.labelW, sz.barW, sz.noteW
	const rowH = 26
	maxTotal := 0.0
	for _, b := range bars {
		t := 0.0
		for _, p := range b.Parts {
			t += p
		}
		maxTotal = max(maxTotal, t)
	}
	legendH := 0
	if len(legend) > 1 {
		legendH = 24 * ((len(legend) + sz.legendPerRow - 1) / sz.legendPerRow)
	}
	h := len(bars)*rowH + legendH + 6
	w := labelW + barW + noteW
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`, html.EscapeString(title), w, h)
	for i, bar := range bars {
		y := i*rowH + 3
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="13">%s</text>`, labelW-8, y+17, html.EscapeString(clipLabel(bar.Label, sz.labelClip)))
		x := float64(labelW)
		for j, p := range bar.Parts {
			if maxTotal == 0 || p <= 0 {
				continue
			}
			pw := p / maxTotal * float64(barW)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`, x, y, pw, rowH-6, chartColors[j%len(chartColors)],
				html.EscapeString(bar.Label), trimFloat(p))
			x += pw
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" fill="#333">%s</text>`, x+6, y+17, html.EscapeString(bar.Note))
	}
	if legendH > 0 {
		drawLegend(&b, legend, labelW, len(bars)*rowH+8, sz)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// vbarChart draws vertical stacked bars, one per column (a month), in
// two sizes (see hbarChart).
func vbarChart(title string, cols []string, series [][]float64, legend []string) template.HTML {
	return twoSizes(vbarSVG(title, cols, series, legend, chartWide), vbarSVG(title, cols, series, legend, chartNarrow))
}

func vbarSVG(title string, cols []string, series [][]float64, legend []string, sz chartSize) string {
	const left, top, plotH, bottom = 50, 10, 180, 40
	// Columns share the drawing's width, up to 90 units each: a
	// "07.2026" label needs about 48; narrower columns say "07.26", and
	// under 36 only every other column is labelled.
	colW := min(max((sz.width-left-10)/max(len(cols), 1), 16), 90)
	w := left + max(len(cols), 1)*colW + 10
	label := func(i int, c string) string {
		if colW < 36 && i%2 == 1 {
			return ""
		}
		if colW < 56 && len(c) == 7 && c[2] == '.' {
			return c[:3] + c[5:]
		}
		return c
	}
	maxTotal := 0.0
	for i := range cols {
		t := 0.0
		for _, s := range series {
			t += s[i]
		}
		maxTotal = max(maxTotal, t)
	}
	legendH := 0
	if len(legend) > 1 {
		legendH = 24 * ((len(legend) + sz.legendPerRow - 1) / sz.legendPerRow)
	}
	h := top + plotH + bottom + legendH
	w = max(w, sz.width)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`, html.EscapeString(title), w, h)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, top+plotH, w-10, top+plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="11">%s</text>`, left-6, top+10, html.EscapeString(trimFloat(maxTotal)))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="11">0</text>`, left-6, top+plotH)
	for i, c := range cols {
		x := left + i*colW + min(6, colW/8)
		y := float64(top + plotH)
		total := 0.0
		for j, s := range series {
			if maxTotal == 0 || s[i] <= 0 {
				continue
			}
			ph := s[i] / maxTotal * plotH
			y -= ph
			total += s[i]
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`, x, y, colW-2*min(6, colW/8), ph, chartColors[j%len(chartColors)],
				html.EscapeString(c), html.EscapeString(legendAt(legend, j)), trimFloat(s[i]))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="11">%s</text>`, x+(colW-2*min(6, colW/8))/2, top+plotH+16, html.EscapeString(label(i, c)))
		if total > 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="middle" font-size="10" fill="#333">%s</text>`, x+(colW-2*min(6, colW/8))/2, y-3, html.EscapeString(trimFloat(total)))
		}
	}
	if legendH > 0 {
		drawLegend(&b, legend, left, top+plotH+bottom-6, sz)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func legendAt(l []string, i int) string {
	if i < len(l) {
		return l[i]
	}
	return ""
}

func drawLegend(b *strings.Builder, legend []string, x, y int, sz chartSize) {
	if sz.legendStep*sz.legendPerRow+x > max(sz.width, sz.labelW+sz.barW+sz.noteW) {
		x = 4 // a narrow drawing's legend starts at its left edge
	}
	for i, l := range legend {
		lx, ly := x+(i%sz.legendPerRow)*sz.legendStep, y+(i/sz.legendPerRow)*24
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-size="12">%s</text>`, lx, ly, chartColors[i%len(chartColors)], lx+16, ly+11, html.EscapeString(clipLabel(l, 18)))
	}
}

func clipLabel(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func trimFloat(f float64) string {
	if f == float64(int64(f)) {
		return groupInt(int64(f))
	}
	return strings.Replace(fmt.Sprintf("%.2f", f), ".", ",", 1)
}

// groupInt writes 45000 as "45 000" (a narrow no-break space).
func groupInt(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	out = append([]string{s}, out...)
	r := strings.Join(out, "\u202f")
	if neg {
		r = "-" + r
	}
	return r
}
