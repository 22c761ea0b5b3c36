package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/isowasm/isowasm/conformance"
)

func conformanceCommand() *cli.Command {
	return &cli.Command{
		Name:  "conformance",
		Usage: "run the conformance suite: isotropic-cluster's scenarios with JS and Wasm workers, compared with the original",
		Description: "Runs every scenario of the built-in suite (the reference scenarios recorded from\n" +
			"isotropic-cluster 0.5.0 on Node, and isowasm's own Wasm scenarios) as\n" +
			"`isowasm run primary.js` with this binary: once with its JS workers (worker.js),\n" +
			"once with Wasm workers where the scenario has a Wasm version (the suite's Go\n" +
			"guest, built from source with the Go toolchain, or the scenario's worker.wasm).\n" +
			"Each result line is compared with its expected trace. Progress goes to stderr;\n" +
			"the table scenario x runtime (or --json) to stdout. The exit code is 1 if any\n" +
			"run fails.\n\n" +
			"With --reference node, each scenario also runs under Node with the real\n" +
			"isotropic-cluster (npm install isotropic-cluster@0.5.0, then --node-modules DIR),\n" +
			"and isowasm is compared with that live result. --record DIR writes those\n" +
			"results as new expected traces.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run only the scenarios whose name matches this regular expression"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON on stdout"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "for each failure, show a diff of the expected and actual results (first divergence marked) and the run's stderr"},
			&cli.StringSliceFlag{Name: "runtime", Usage: "run only these isowasm runtimes: js, wasm", DefaultText: "js and wasm"},
			&cli.StringFlag{Name: "reference", Usage: "compare isowasm live with the original: 'node' runs each scenario under Node with isotropic-cluster"},
			&cli.StringFlag{Name: "node-modules", Value: ".", Usage: "the folder whose node_modules holds isotropic-cluster, for --reference node"},
			&cli.StringFlag{Name: "record", Usage: "write the Node runs' results as expected traces (DIR/<scenario>.json); implies --reference node"},
			&cli.IntFlag{Name: "parallel", Aliases: []string{"j"}, Usage: "runs at a time", DefaultText: "the number of CPUs"},
			&cli.DurationFlag{Name: "timeout", Value: conformance.DefaultTimeout, Usage: "bound on each run"},
			&cli.StringFlag{Name: "wasm-guest", Usage: "the built conformance Go guest (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared ./conformance/wasm/guest)", DefaultText: "built from source"},
			// A suite folder instead of the built-in one (tests).
			&cli.StringFlag{Name: "suite", Hidden: true},
		},
		Action: runConformance,
	}
}

func runConformance(c *cli.Context) error {
	stderr := c.App.ErrWriter
	if c.NArg() > 0 {
		return fmt.Errorf("conformance: unexpected argument %q (select scenarios with --run REGEX)", c.Args().First())
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("conformance: finding this executable: %w", err)
	}
	suite := conformance.Embedded()
	if dir := c.String("suite"); dir != "" {
		if suite, err = conformance.Open(dir); err != nil {
			return err
		}
	}
	var re *regexp.Regexp
	if expr := c.String("run"); expr != "" {
		if re, err = regexp.Compile(expr); err != nil {
			return fmt.Errorf("conformance: --run %q: %w", expr, err)
		}
	}
	scenarios := suite.Select(re)
	if len(scenarios) == 0 {
		return fmt.Errorf("conformance: no scenario matches --run %q", c.String("run"))
	}
	runtimes := []string{conformance.JS, conformance.Wasm}
	if rts := c.StringSlice("runtime"); len(rts) > 0 {
		runtimes = nil
		for _, rt := range rts {
			for _, rt := range strings.Split(rt, ",") {
				if rt != conformance.JS && rt != conformance.Wasm {
					return fmt.Errorf("conformance: --runtime %q: give js or wasm", rt)
				}
				if !slices.Contains(runtimes, rt) {
					runtimes = append(runtimes, rt)
				}
			}
		}
	}
	tmp, err := os.MkdirTemp("", "isowasm-conformance-")
	if err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	defer os.RemoveAll(tmp)

	r := conformance.Runner{Binary: bin, Runtimes: runtimes, Parallel: c.Int("parallel"), Timeout: c.Duration("timeout")}
	report := conformance.Report{Isowasm: version(), Suite: suite.Origin, Reference: "recorded traces"}
	ref := c.String("reference")
	if c.String("record") != "" && ref == "" {
		ref = "node"
	}
	switch ref {
	case "":
	case "node":
		node, err := conformance.FindNode(c.Context, c.String("node-modules"))
		if err != nil {
			if c.String("record") != "" {
				return fmt.Errorf("conformance: --record needs the original: %w", err)
			}
			r.ReferenceSkip = strings.TrimPrefix(err.Error(), conformance.ErrNoReference.Error()+": ")
			report.Notes = append(report.Notes, "no live reference, so isowasm was compared with the recorded traces: "+r.ReferenceSkip)
			fmt.Fprintf(stderr, "isowasm conformance: the Node runs are skipped: %s\n", r.ReferenceSkip)
		} else {
			r.Reference = node
			report.Reference = fmt.Sprintf("live: node %s, isotropic-cluster %s (%s)", node.Version, node.Package, node.Modules)
		}
		report.Runtimes = append(report.Runtimes, conformance.Node)
	default:
		return fmt.Errorf("conformance: --reference %q: the one reference is node", ref)
	}
	report.Runtimes = append(report.Runtimes, runtimes...)

	if slices.Contains(runtimes, conformance.Wasm) && slices.ContainsFunc(scenarios, func(sc *conformance.Scenario) bool { return sc.Wasm.Guest }) {
		if g := c.String("wasm-guest"); g != "" {
			if _, err := os.Stat(g); err != nil {
				return fmt.Errorf("conformance: --wasm-guest: %w", err)
			}
			r.Guest = g
		} else {
			fmt.Fprintf(stderr, "isowasm conformance: building the Go guest (%s)…\n", conformance.GuestPackage)
			start := time.Now()
			if r.Guest, err = conformance.BuildGuest(c.Context, tmp); err != nil {
				r.GuestSkip = firstLine(err.Error())
				report.Notes = append(report.Notes, err.Error())
				fmt.Fprintf(stderr, "isowasm conformance: no Go guest, its Wasm runs are skipped: %v\n", err)
			} else {
				fmt.Fprintf(stderr, "isowasm conformance: built the Go guest in %.1fs\n", time.Since(start).Seconds())
			}
		}
	}

	width := 0
	for _, sc := range scenarios {
		width = max(width, len(sc.Name))
	}
	r.Progress = func(done, total int, res conformance.Result) {
		status := string(res.Status)
		if res.Status == conformance.Fail {
			status = "FAIL"
		}
		if res.Status != conformance.Skip {
			status += fmt.Sprintf(" %.1fs", res.Duration.Seconds())
		}
		fmt.Fprintf(stderr, "[%*d/%d] %-*s %-4s … %s\n", len(fmt.Sprint(total)), done, total, width, res.Scenario, res.Runtime, status)
	}
	report.Results = r.RunSuite(c.Context, tmp, scenarios)
	report.Count()

	if dir := c.String("record"); dir != "" {
		paths, err := conformance.Record(dir, report.Results)
		for _, p := range paths {
			report.Notes = append(report.Notes, "recorded "+p)
		}
		if err != nil {
			return err
		}
	}
	if c.Bool("json") {
		c.App.Writer.Write(report.JSON())
	} else {
		fmt.Fprint(c.App.Writer, report.Table(c.Bool("verbose")))
	}
	if report.Summary.Fail > 0 {
		return exitError{1}
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
