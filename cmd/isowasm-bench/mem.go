package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// measure reads the memory of an idle cluster: pids[0] is the primary, the
// rest its workers. Per worker: the median VmRSS (/proc/PID/status) and Pss
// (/proc/PID/smaps_rollup); for the tree, the sum of every process's Pss
// (shared pages counted once in all).
func measure(pids []int) (figures, error) {
	if len(pids) < 2 {
		return nil, fmt.Errorf("measure: no worker pids in %v", pids)
	}
	var rss, pss []float64
	tree := 0.0
	for i, pid := range pids {
		r, err := procField(pid, "status", "VmRSS:")
		if err != nil {
			return nil, err
		}
		p, err := procField(pid, "smaps_rollup", "Pss:")
		if err != nil {
			return nil, err
		}
		tree += p
		if i > 0 {
			rss = append(rss, r)
			pss = append(pss, p)
		}
	}
	return figures{figRSS: median(rss), figPss: median(pss), figTreePss: tree}, nil
}

// procField reads a "Name:   1234 kB" line of /proc/PID/file, in MB.
func procField(pid int, file, name string) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		return 0, fmt.Errorf("measure: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("measure: /proc/%d/%s: %q: %w", pid, file, sc.Text(), err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("measure: /proc/%d/%s has no %s line", pid, file, name)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
