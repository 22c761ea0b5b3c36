package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// fatalLog prints the errors that end workers (their uncaught exceptions,
// which the workers send to the primary instead of printing them), so that
// a crash loop cannot flood the terminal: the first of a run of identical
// errors is printed in full, the repeats are counted and summed up in one
// line ("isowasm: … the same error again ×12 (workers 3-14)") when a
// different error comes, at most every summaryEvery while they go on, and
// at Close. Safe from any goroutine.
type fatalLog struct {
	mu      sync.Mutex
	w       io.Writer
	last    string // the error printed last in full
	repeats int    // its repeats not yet summed up
	from    int    // the lowest and highest worker id of those repeats
	to      int
	summed  time.Time // when the last summary was printed
}

// summaryEvery bounds how often the repeats of one error are summed up.
const summaryEvery = 5 * time.Second

func newFatalLog(w io.Writer) *fatalLog { return &fatalLog{w: w} }

// report prints worker id's error, or counts it when it repeats the last.
// It reports whether the error repeats the one before.
func (l *fatalLog) report(id int, text string) (repeat bool) {
	if text == "" {
		return false
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if text == l.last {
		if l.repeats == 0 || id < l.from {
			l.from = id
		}
		l.repeats++
		l.to = max(l.to, id)
		if time.Since(l.summed) >= summaryEvery {
			l.sumUp()
		}
		return true
	}
	l.sumUp()
	l.last = text
	l.summed = time.Now()
	_, _ = io.WriteString(l.w, text)
	return false
}

// headline is the first line of the last error printed, and the first
// place in a script its stack names ("" when it names none): what a user
// has to fix.
func (l *fatalLog) headline() (first, where string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(l.last), "\n")
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if first == "" && line != "" && !strings.HasPrefix(line, "at ") {
			first = line
		}
		if where == "" && strings.HasPrefix(line, "at ") {
			where = strings.TrimSuffix(line[strings.LastIndex(line, " ")+1:], ")")
			where = strings.TrimPrefix(where, "(")
		}
	}
	return first, where
}

// sumUp prints the line that sums up the repeats counted so far.
func (l *fatalLog) sumUp() {
	if l.repeats == 0 {
		return
	}
	workers := fmt.Sprintf("worker %d", l.from)
	if l.to != l.from {
		workers = fmt.Sprintf("workers %d-%d", l.from, l.to)
	}
	fmt.Fprintf(l.w, "isowasm: … the same error again ×%d (%s)\n", l.repeats, workers)
	l.repeats, l.to = 0, 0
	l.summed = time.Now()
}

// Close sums up the repeats not yet reported.
func (l *fatalLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sumUp()
}
