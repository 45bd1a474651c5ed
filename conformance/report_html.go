package conformance

import (
	"bytes"
	"html/template"
	"io"
	"strconv"
	"time"
)

// WriteHTML writes the report as one self-contained HTML page: inline
// CSS, no script, no image, font or link to anything outside it (a
// Content-Security-Policy in the page forbids them), so that it can be
// mailed or attached as is. Every text comes through html/template, so
// whatever the server sent is shown as text, never as markup.
func (r *Report) WriteHTML(w io.Writer) error {
	var buf bytes.Buffer
	if err := reportPage.Execute(&buf, r.htmlView()); err != nil {
		return err // a bug in the template: nothing half-written
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type htmlView struct {
	Verdict, VerdictClass                  string
	Target, URL, Started, Duration, Filter string
	Version, Problem                       string
	Settings                               []string
	Run                                    []htmlMsg
	Areas                                  []htmlArea
	Total                                  htmlCounts
	Failing                                []htmlFailing
}

type htmlCounts struct{ Passed, Failed, Skipped, Warned, Warnings int }

type htmlArea struct {
	Name, ID string
	Counts   htmlCounts
	Msgs     []htmlMsg
	Checks   []htmlCheck
}

type htmlCheck struct {
	Name, ID, Status, StatusText, Elapsed string
	Msgs                                  []htmlMsg
	Faults                                []htmlFault
	Dropped                               int
	Open                                  bool
}

type htmlMsg struct{ Kind, Label, Text string }

type htmlFault struct {
	Method string
	Code   int
	Text   string
	Count  int
}

type htmlFailing struct{ Name, ID, First string }

// elapsed is d to the millisecond, or "<1ms".
func elapsed(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}

func htmlCountsOf(c counts) htmlCounts {
	return htmlCounts{c.passed, c.failed, c.skipped, c.warned, c.warnings}
}

var statusText = map[status]string{
	statusPassed:  "PASS",
	statusFailed:  "FAIL",
	statusSkipped: "SKIP",
	statusWarned:  "WARN",
	statusRunning: "NOT FINISHED",
}

var msgLabel = map[msgKind]string{msgLog: "", msgWarning: "warning: ", msgError: "", msgSkip: "skipped: "}

func htmlMsgs(msgs []message) []htmlMsg {
	out := make([]htmlMsg, len(msgs))
	for i, m := range msgs {
		out[i] = htmlMsg{Kind: m.kind.String(), Label: msgLabel[m.kind], Text: m.text}
	}
	return out
}

func (r *Report) htmlView() htmlView {
	v := htmlView{
		Target:   r.name,
		URL:      r.url,
		Started:  r.started.UTC().Format("2006-01-02 15:04:05 UTC"),
		Duration: r.elapsed.Round(time.Millisecond).String(),
		Filter:   r.filter,
		Version:  r.version,
		Problem:  r.problem,
		Settings: r.settings,
		Run:      htmlMsgs(r.run),
		Total:    htmlCountsOf(r.total),
	}
	n := r.total.checks()
	switch {
	case r.problem != "":
		v.Verdict, v.VerdictClass = "DID NOT COMPLETE: "+r.problem, "fail"
	case r.Failed() && r.total.failed > 0:
		v.Verdict, v.VerdictClass = "FAILED: "+strconv.Itoa(r.total.failed)+" of "+strconv.Itoa(n)+" checks failed", "fail"
	case r.Failed():
		v.Verdict, v.VerdictClass = "FAILED: an error outside the checks (see below)", "fail"
	default:
		v.Verdict, v.VerdictClass = "PASSED: "+strconv.Itoa(r.total.passed)+" of "+strconv.Itoa(n)+" checks passed", "pass"
		if r.total.skipped > 0 {
			v.Verdict += ", " + strconv.Itoa(r.total.skipped) + " skipped"
		}
		if r.total.warned > 0 {
			v.Verdict += ", " + strconv.Itoa(r.total.warned) + " warned"
			v.VerdictClass = "warn"
		}
	}
	for _, a := range r.areas {
		ha := htmlArea{Name: a.name, ID: "area-" + a.name, Counts: htmlCountsOf(a.counts), Msgs: htmlMsgs(a.msgs)}
		for _, c := range a.checks {
			hc := htmlCheck{
				Name:       c.name,
				ID:         "check-" + c.area + "-" + c.name,
				Status:     c.status.String(),
				StatusText: statusText[c.status],
				Elapsed:    elapsed(c.elapsed),
				Msgs:       htmlMsgs(c.msgs),
				Dropped:    c.dropped,
				Open:       c.status == statusFailed || c.status == statusWarned,
			}
			for _, f := range c.faults {
				hc.Faults = append(hc.Faults, htmlFault{f.method, f.code, f.text, f.count})
			}
			if c.status == statusFailed {
				v.Failing = append(v.Failing, htmlFailing{Name: c.area + "/" + c.name, ID: hc.ID, First: brief(firstText(c.msgs, msgError))})
			}
			ha.Checks = append(ha.Checks, hc)
		}
		v.Areas = append(v.Areas, ha)
	}
	return v
}

var reportPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conformance report: {{.Target}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 1.5em 2em; }
h1 { font-size: 1.5em; margin: 0 0 .3em; }
h2 { font-size: 1.2em; margin: 1.4em 0 .4em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .25em .6em; vertical-align: top; }
table.meta th { color: #57606a; font-weight: 600; padding-left: 0; }
table.grid { border: 1px solid #d0d7de; }
table.grid th { background: #f6f8fa; border-bottom: 1px solid #d0d7de; }
table.grid td { border-top: 1px solid #eaeef2; }
table.grid td.n, table.grid th.n { text-align: right; font-variant-numeric: tabular-nums; }
table.checks { width: 100%; table-layout: fixed; }
col.result { width: 6.5em; } col.name { width: 15em; } col.time { width: 5.5em; }
.top { display: flex; flex-wrap: wrap; gap: 1em 4em; align-items: flex-start; }
.top h2 { margin-top: 0; }
.top table.meta ~ h2 { margin-top: 1em; }
.top > div:first-child { max-width: 40em; }
tr.fail > td { background: #fff5f5; }
td.bad { color: #cf222e; font-weight: 700; }
.verdict { display: inline-block; font-weight: 700; padding: .35em .8em; border-radius: 6px; margin: .2em 0 .8em; }
.verdict.pass { background: #dafbe1; color: #116329; }
.verdict.warn { background: #fff8c5; color: #7d4e00; }
.verdict.fail { background: #ffebe9; color: #a40e26; }
.badge { display: inline-block; min-width: 3.2em; text-align: center; font-weight: 700; font-size: .85em; padding: .1em .4em; border-radius: 4px; }
.badge.pass { background: #dafbe1; color: #116329; }
.badge.fail { background: #cf222e; color: #fff; }
.badge.skip { background: #eaeef2; color: #57606a; }
.badge.warn { background: #fff8c5; color: #7d4e00; }
pre { margin: 0 0 .3em; white-space: pre-wrap; overflow-wrap: anywhere; font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.error { color: #a40e26; }
pre.warning { color: #7d4e00; }
pre.skip, pre.log { color: #57606a; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
details summary { cursor: pointer; color: #57606a; }
table.faults { margin: .3em 0; font-size: .92em; }
table.faults td { border-top: 1px solid #eaeef2; }
table.faults td:first-child code { white-space: nowrap; }
ol.failing li { margin: .2em 0; }
.nw { white-space: nowrap; }
footer { margin-top: 2em; color: #57606a; font-size: .9em; }
a { color: #0969da; }
</style>
</head>
<body>
<h1>Clearinghouse conformance report</h1>
<div class="verdict {{.VerdictClass}}">{{.Verdict}}</div>
<div class="top">
<div>
<table class="meta">
<tr><th>Target</th><td>{{.Target}}</td></tr>
<tr><th>URL</th><td><code>{{.URL}}</code></td></tr>
<tr><th>Started</th><td>{{.Started}}</td></tr>
<tr><th>Duration</th><td>{{.Duration}}</td></tr>
{{- if .Filter}}
<tr><th>Checks selected</th><td><code>-run {{.Filter}}</code></td></tr>
{{- end}}
<tr><th>Settings</th><td>{{range $i, $s := .Settings}}{{if $i}} · {{end}}<span class="nw">{{$s}}</span>{{end}}</td></tr>
<tr><th>Suite</th><td>{{.Version}}</td></tr>
</table>
{{- if .Failing}}
<h2 id="failed">Failed checks</h2>
<ol class="failing">
{{- range .Failing}}
<li><a href="#{{.ID}}">{{.Name}}</a>: {{.First}}</li>
{{- end}}
</ol>
{{- end}}
{{- if .Run}}
<h2 id="run">Outside the checks</h2>
{{range .Run}}<pre class="{{.Kind}}">{{.Label}}{{.Text}}</pre>
{{end}}
{{- end}}
</div>
<div>
<h2 id="summary">Summary</h2>
<table class="grid summary">
<thead><tr><th>Area</th><th class="n">Passed</th><th class="n">Failed</th><th class="n">Skipped</th><th class="n">Warned</th><th class="n">Warnings</th></tr></thead>
<tbody>
{{- range .Areas}}
<tr{{if .Counts.Failed}} class="fail"{{end}}><td><a href="#{{.ID}}">{{.Name}}</a></td><td class="n">{{.Counts.Passed}}</td><td class="n{{if .Counts.Failed}} bad{{end}}">{{.Counts.Failed}}</td><td class="n">{{.Counts.Skipped}}</td><td class="n">{{.Counts.Warned}}</td><td class="n">{{.Counts.Warnings}}</td></tr>
{{- end}}
</tbody>
<tfoot><tr><th>Total</th><th class="n">{{.Total.Passed}}</th><th class="n">{{.Total.Failed}}</th><th class="n">{{.Total.Skipped}}</th><th class="n">{{.Total.Warned}}</th><th class="n">{{.Total.Warnings}}</th></tr></tfoot>
</table>
</div>
</div>
{{- range .Areas}}
<section>
<h2 id="{{.ID}}">{{.Name}}</h2>
{{range .Msgs}}<pre class="{{.Kind}}">{{.Label}}{{.Text}}</pre>
{{end}}
<table class="grid checks">
<colgroup><col class="result"><col class="name"><col class="time"><col></colgroup>
<thead><tr><th>Result</th><th>Check</th><th class="n">Time</th><th>Details</th></tr></thead>
<tbody>
{{- range .Checks}}
<tr id="{{.ID}}" class="{{.Status}}"><td><span class="badge {{.Status}}">{{.StatusText}}</span></td><td>{{.Name}}</td><td class="n">{{.Elapsed}}</td><td>
{{- range .Msgs}}<pre class="{{.Kind}}">{{.Label}}{{.Text}}</pre>{{end}}
{{- if .Faults}}
<details{{if .Open}} open{{end}}><summary>faults seen: {{len .Faults}}{{if .Dropped}} (and {{.Dropped}} more not kept){{end}}</summary>
<table class="faults"><tr><th>method</th><th class="n">code</th><th>fault string</th><th class="n">times</th></tr>
{{- range .Faults}}
<tr><td><code>{{.Method}}</code></td><td class="n">{{.Code}}</td><td><code>{{.Text}}</code></td><td class="n">{{.Count}}</td></tr>
{{- end}}
</table></details>
{{- end}}
</td></tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}
<footer>Written by the clearinghouse-go conformance suite. API keys, passwords, private keys and admin tokens are replaced by [REDACTED]; texts from the server are cut to a few kilobytes, with control characters shown escaped (\x1b, \r, \u202e).</footer>
</body>
</html>
`))
