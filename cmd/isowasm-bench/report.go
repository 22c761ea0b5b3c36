package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// The figures, as the table names them.
const (
	figReady      = "ready ms"
	figWhole      = "start+shutdown ms"
	figRSS        = "VmRSS/worker MB"
	figPss        = "Pss/worker MB"
	figTreePss    = "tree Pss MB"
	figRoundTrips = "round trips/s"
	figMessages   = "messages/s"
	figMBps       = "MB/s"
)

// lowerIsBetter says which way a figure is good.
var lowerIsBetter = map[string]bool{figReady: true, figWhole: true, figRSS: true, figPss: true, figTreePss: true}

// figuresOf lists a workload's figures in table order.
var figuresOf = map[string][]string{
	"start":    {figReady, figWhole},
	"mem":      {figRSS, figPss, figTreePss},
	"ping":     {figRoundTrips},
	"pipeline": {figMessages},
	"echo":     {figRoundTrips, figMBps},
}

// bestPeer labels the row that compares with Node's best serialization in
// each round.
const bestPeer = "best"

// target is the gain aimed for (how many times better isowasm must
// be than the peer: faster, or lighter), 0 when it sets none.
func target(j job, fig, peer string) float64 {
	switch {
	case j.spec.Workload == "start" && fig == figReady && j.runtime == "js" && j.spec.Workers >= 4:
		return 8
	case j.spec.Workload == "mem" && j.runtime == "js" && fig == figRSS:
		return 3
	case j.spec.Workload == "mem" && j.runtime == "js" && fig == figTreePss:
		return 4
	case j.spec.Workload == "ping" && j.runtime == "js":
		return 2
	case j.spec.Workload == "pipeline" && j.runtime == "js":
		return 4
	case j.spec.Workload == "pipeline" && j.runtime == "wasm":
		return 6
	case j.spec.Workload == "echo" && j.spec.Size == 1<<20 && peer == bestPeer:
		return 1.2
	}
	return 0
}

// row is one figure of one job against one peer, over the rounds.
type row struct {
	job    job
	fig    string
	peer   string // a Node serialization, bestPeer, or "" without a peer
	a, b   []float64
	target float64
}

// jobRows collects a job's rounds.
type jobRows struct {
	j     job
	peers []string
	a     []figures
	b     map[string][]figures
}

func newJobRows(j job, peers []string) *jobRows {
	return &jobRows{j: j, peers: peers, b: map[string][]figures{}}
}

func (jr *jobRows) addA(f figures)              { jr.a = append(jr.a, f) }
func (jr *jobRows) addB(peer string, f figures) { jr.b[peer] = append(jr.b[peer], f) }

func (jr *jobRows) rows() []*row {
	var out []*row
	for _, fig := range figuresOf[jr.j.spec.Workload] {
		a := column(jr.a, fig)
		if len(jr.peers) == 0 {
			out = append(out, &row{job: jr.j, fig: fig, a: a})
			continue
		}
		for _, peer := range jr.peers {
			out = append(out, &row{job: jr.j, fig: fig, peer: peer, a: a, b: column(jr.b[peer], fig), target: target(jr.j, fig, peer)})
		}
		if len(jr.peers) > 1 {
			best := make([]float64, len(a))
			for i := range best {
				for k, peer := range jr.peers {
					v := jr.b[peer][i][fig]
					if k == 0 || better(fig, v, best[i]) {
						best[i] = v
					}
				}
			}
			out = append(out, &row{job: jr.j, fig: fig, peer: bestPeer, a: a, b: best, target: target(jr.j, fig, bestPeer)})
		}
	}
	return out
}

func column(fs []figures, fig string) []float64 {
	out := make([]float64, len(fs))
	for i, f := range fs {
		out[i] = f[fig]
	}
	return out
}

func better(fig string, x, y float64) bool {
	if lowerIsBetter[fig] {
		return x < y
	}
	return x > y
}

// gain is how many times better a is than b for the figure.
func gain(fig string, a, b float64) float64 {
	if lowerIsBetter[fig] {
		return b / a
	}
	return a / b
}

func printTable(out io.Writer, rows []*row, withPeer bool) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	if withPeer {
		fmt.Fprintln(tw, "workload\tfigure\tisowasm median\t[min – max]\tnode\tnode median\t[min – max]\tisowasm/node\tper round\tgain\ttarget\t")
	} else {
		fmt.Fprintln(tw, "workload\tfigure\tisowasm median\t[min – max]\t")
	}
	for _, r := range rows {
		a := summarize(r.a)
		if !withPeer {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.job.name, r.fig, num(a.med), a.span())
			continue
		}
		b := summarize(r.b)
		perRound := make([]string, len(r.a))
		for i := range r.a {
			perRound[i] = fmt.Sprintf("%.2f", r.a[i]/r.b[i])
		}
		g := gain(r.fig, a.med, b.med)
		tgt := ""
		if r.target > 0 {
			verdict := "met"
			if g < r.target {
				verdict = "MISSED"
			}
			tgt = fmt.Sprintf("≥%g× %s", r.target, verdict)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%.2f×\t%s\t\n",
			r.job.name, r.fig, num(a.med), a.span(), r.peer, num(b.med), b.span(),
			a.med/b.med, strings.Join(perRound, " "), g, tgt)
	}
	tw.Flush()
	if withPeer {
		fmt.Fprintln(out, "\nisowasm/node is the ratio of the medians (per round: of that round's pair); gain is how many times")
		fmt.Fprintln(out, "better isowasm is (node/isowasm for times and memory, isowasm/node for rates); target: the gain isowasm aims for.")
		fmt.Fprintln(out, "node column: Node's serialization (cluster.setupPrimary), best = the better of the two in each round.")
	}
}

type summary struct{ med, min, max float64 }

func summarize(v []float64) summary {
	if len(v) == 0 {
		return summary{}
	}
	return summary{median(v), slices.Min(v), slices.Max(v)}
}

func (s summary) span() string { return "[" + num(s.min) + " – " + num(s.max) + "]" }

// num prints about three significant digits.
func num(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
