package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// load is a closed-loop HTTP/1.1 load generator, as wrk is: conns
// keep-alive connections, each sending the next request as soon as the
// response before it has been read. It speaks just enough HTTP (a status
// line, headers, a Content-Length or chunked body) to stay out of the
// servers' way: the CPU it spends is CPU the servers under test lose on
// the same machine, and Go's net/http client spends several times more.
type load struct {
	Addr     string        // host:port
	Path     string        // request target
	Conns    int           // concurrent connections
	Warmup   time.Duration // run first, not measured
	Duration time.Duration // measured
	// Measuring, when set, is called as the measured time starts (from a
	// goroutine of its own; run returns after it has).
	Measuring func()
}

// stats is what one run measured.
type stats struct {
	Requests  int
	Errors    int // failed requests (refused, reset, bad response)
	Refused   int // of which: connection refused
	Non2xx    int
	LastError error // the last failure, for the log
	Elapsed   time.Duration
	Latencies []time.Duration // sorted
	ServerCPU time.Duration   // the server processes' CPU time while measured (set by measure)
	LoadCPU   time.Duration   // this process's (the load generator's) CPU time while measured
}

func (s stats) rate() float64 { return float64(s.Requests) / s.Elapsed.Seconds() }

func (s stats) percentile(p float64) time.Duration {
	if len(s.Latencies) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(s.Latencies)-1))
	return s.Latencies[i]
}

// run drives the load until ctx ends or warmup+duration has passed.
func (l load) run(ctx context.Context) (stats, error) {
	ctx, cancel := context.WithTimeout(ctx, l.Warmup+l.Duration)
	defer cancel()
	req := []byte("GET " + l.Path + " HTTP/1.1\r\nHost: " + l.Addr + "\r\nUser-Agent: isowasm-httpbench\r\nAccept: */*\r\n\r\n")
	start := time.Now()
	measureFrom := start.Add(l.Warmup)
	results := make([]stats, l.Conns)
	var wg sync.WaitGroup
	if l.Measuring != nil {
		mark := time.NewTimer(l.Warmup)
		defer mark.Stop()
		wg.Go(func() {
			select {
			case <-mark.C:
				l.Measuring()
			case <-ctx.Done():
			}
		})
	}
	for i := range l.Conns {
		wg.Go(func() { results[i] = l.conn(ctx, req, measureFrom) })
	}
	wg.Wait()
	var total stats
	for _, r := range results {
		total.Requests += r.Requests
		total.Errors += r.Errors
		total.Refused += r.Refused
		total.Non2xx += r.Non2xx
		if r.LastError != nil {
			total.LastError = r.LastError
		}
		total.Latencies = append(total.Latencies, r.Latencies...)
	}
	total.Elapsed = time.Since(measureFrom)
	if ctx.Err() != nil && total.Elapsed > l.Duration {
		total.Elapsed = l.Duration
	}
	slices.Sort(total.Latencies)
	if total.Requests == 0 {
		return total, fmt.Errorf("no request succeeded (%d errors) against %s", total.Errors, l.Addr)
	}
	return total, nil
}

// conn is one connection's loop; it reconnects after an error, as wrk does.
func (l load) conn(ctx context.Context, req []byte, measureFrom time.Time) stats {
	var s stats
	var d net.Dialer
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	// A read in progress ends at the run's deadline at the latest.
	deadline, _ := ctx.Deadline()
	for ctx.Err() == nil {
		if c == nil {
			conn, err := d.DialContext(ctx, "tcp", l.Addr)
			if err != nil {
				if ctx.Err() != nil || !time.Now().Before(deadline) {
					break
				}
				s.Errors++
				s.LastError = err
				if isRefused(err) {
					s.Refused++
				}
				// Back off a little without spinning: a refused dial is
				// immediate.
				select {
				case <-ctx.Done():
				case <-time.After(time.Millisecond):
				}
				continue
			}
			c = conn
			_ = c.SetDeadline(deadline)
			br = bufio.NewReaderSize(c, 16<<10)
		}
		t0 := time.Now()
		status, closeAfter, err := roundTrip(c, br, req)
		if err != nil {
			// A read cut by the run's deadline is the end, not an error.
			if ctx.Err() == nil && time.Now().Before(deadline) && !errors.Is(err, os.ErrDeadlineExceeded) {
				s.Errors++
				s.LastError = err
			}
			c.Close()
			c = nil
			continue
		}
		if t0.Before(measureFrom) {
			if closeAfter {
				c.Close()
				c = nil
			}
			continue
		}
		s.Requests++
		s.Latencies = append(s.Latencies, time.Since(t0))
		if status < 200 || status > 299 {
			s.Non2xx++
		}
		if closeAfter {
			c.Close()
			c = nil
		}
	}
	return s
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && bytes.Contains([]byte(err.Error()), []byte("connection refused"))
}

// roundTrip writes the request and reads one response; closeAfter says
// the server will close the connection.
func roundTrip(c net.Conn, br *bufio.Reader, req []byte) (status int, closeAfter bool, err error) {
	if _, err := c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			length, err = strconv.Atoi(string(value))
			if err != nil {
				return 0, false, fmt.Errorf("bad content-length %q", value)
			}
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("connection")):
			closeAfter = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
			if err != nil {
				return 0, false, fmt.Errorf("bad chunk size %q", line)
			}
			if _, err := br.Discard(int(size) + 2); err != nil {
				return 0, false, err
			}
			if size == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := br.Discard(length); err != nil {
			return 0, false, err
		}
	default:
		_, err := io.Copy(io.Discard, br)
		return status, true, err
	}
	return status, closeAfter, nil
}
