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

// hbarChart draws horizontal (stacked) bars scaled to the largest total.
func hbarChart(title string, bars []hbar, legend []string) template.HTML {
	const labelW, barW, rowH, noteW = 200, 420, 26, 160
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
		legendH = 24
	}
	h := len(bars)*rowH + legendH + 6
	w := labelW + barW + noteW
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`, html.EscapeString(title), w, h)
	for i, bar := range bars {
		y := i*rowH + 3
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="13">%s</text>`, labelW-8, y+17, html.EscapeString(clipLabel(bar.Label, 28)))
		x := float64(labelW)
		for j, p := range bar.Parts {
			if maxTotal == 0 || p <= 0 {
				continue
			}
			pw := p / maxTotal * barW
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`, x, y, pw, rowH-6, chartColors[j%len(chartColors)],
				html.EscapeString(bar.Label), trimFloat(p))
			x += pw
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" fill="#333">%s</text>`, x+6, y+17, html.EscapeString(bar.Note))
	}
	if legendH > 0 {
		drawLegend(&b, legend, labelW, len(bars)*rowH+8)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// vbarChart draws vertical stacked bars, one per column (a month).
func vbarChart(title string, cols []string, series [][]float64, legend []string) template.HTML {
	const left, top, plotH, bottom = 50, 10, 180, 40
	colW := 46
	w := left + max(len(cols), 1)*colW + 10
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
		legendH = 24 * ((len(legend) + 3) / 4)
	}
	h := top + plotH + bottom + legendH
	w = max(w, 640)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`, html.EscapeString(title), w, h)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, top+plotH, w-10, top+plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="11">%s</text>`, left-6, top+10, html.EscapeString(trimFloat(maxTotal)))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="11">0</text>`, left-6, top+plotH)
	for i, c := range cols {
		x := left + i*colW + 6
		y := float64(top + plotH)
		total := 0.0
		for j, s := range series {
			if maxTotal == 0 || s[i] <= 0 {
				continue
			}
			ph := s[i] / maxTotal * plotH
			y -= ph
			total += s[i]
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`, x, y, colW-12, ph, chartColors[j%len(chartColors)],
				html.EscapeString(c), html.EscapeString(legendAt(legend, j)), trimFloat(s[i]))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="11">%s</text>`, x+(colW-12)/2, top+plotH+16, html.EscapeString(c))
		if total > 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="middle" font-size="10" fill="#333">%s</text>`, x+(colW-12)/2, y-3, html.EscapeString(trimFloat(total)))
		}
	}
	if legendH > 0 {
		drawLegend(&b, legend, left, top+plotH+bottom-6)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func legendAt(l []string, i int) string {
	if i < len(l) {
		return l[i]
	}
	return ""
}

func drawLegend(b *strings.Builder, legend []string, x, y int) {
	for i, l := range legend {
		lx, ly := x+(i%4)*150, y+(i/4)*24
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
