package web

import (
	"strconv"
	"unicode/utf8"
)

// chart is a small horizontal bar chart drawn on the server as inline
// SVG (no script): per seller, the success rate of its attempts as a bar
// out of 100 %, and its backlog as a thinner bar scaled to the largest.
type chart struct {
	Width, Height int
	Rows          []chartRow
	// BarX is where bars start; the labels are left of it.
	BarX, BarW int
}

type chartRow struct {
	Label            string
	Y, LabelY, BackY int
	RateW, BackW     int
	RateText         string
	BackText         string
	Bad              bool // success rate under 90 %
	// TextOnBar: the rate's text is drawn on the bar (white), which is
	// wide enough for it.
	TextOnBar bool
}

const (
	chartWidth = 600
	chartRowH  = 40
	chartTop   = 28
	chartBarX  = 190
	chartBarW  = 330
)

// healthChart draws rows.
func healthChart(rows []healthRow) chart {
	c := chart{Width: chartWidth, Height: chartTop + chartRowH*len(rows) + 6, BarX: chartBarX, BarW: chartBarW}
	maxBacklog := 0
	for _, r := range rows {
		maxBacklog = max(maxBacklog, r.Backlog)
	}
	for i, r := range rows {
		y := chartTop + i*chartRowH
		rate := r.SuccessRate()
		cr := chartRow{Label: shorten(r.Name, 24), Y: y, LabelY: y + 14, BackY: y + 22,
			RateW: int(rate * chartBarW), RateText: strconv.FormatFloat(100*rate, 'f', 1, 64) + " %",
			BackText: strconv.Itoa(r.Backlog) + " waiting", Bad: rate < 0.9}
		cr.TextOnBar = cr.RateW >= 64
		if maxBacklog > 0 {
			cr.BackW = r.Backlog * chartBarW / maxBacklog
		}
		if r.Attempts == 0 {
			cr.RateText = "no attempts"
		}
		c.Rows = append(c.Rows, cr)
	}
	return c
}

// shorten cuts s to n characters, with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func init() {
	funcs["add"] = func(a, b int) int { return a + b }
	funcs["list"] = func(xs ...int) []int { return xs }
	funcs["hoursText"] = func(h int) string {
		switch {
		case h == 1:
			return "hour"
		case h%24 == 0 && h > 24:
			return strconv.Itoa(h/24) + " days"
		}
		return strconv.Itoa(h) + " hours"
	}
}

// decisionView is one approve/reject pair of forms: Mine when the form
// that failed was this one, so its error and reason are shown again.
type decisionView struct {
	Form   form
	Mine   bool
	Action string
	From   string
}

func init() {
	funcs["decision"] = func(f form, formFor, key, action, from string) decisionView {
		return decisionView{Form: f, Mine: formFor == key, Action: action, From: from}
	}
	funcs["basisPoints"] = func(bp int) string {
		return strconv.FormatFloat(float64(bp)/100, 'f', -1, 64) + " %"
	}
}
