package js

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/isowasm/isowasm/hostabi"
	"github.com/isowasm/isowasm/hostabi/frame"
)

// subprocs is a Processes for tests: each worker is the test binary re-run
// as a worker (see TestMain), on a socket pair as the engine's are.
type subprocs struct {
	exe            string
	env            []string // added to every worker's environment
	stdout, stderr io.Writer
	outMu          sync.Mutex

	wg   sync.WaitGroup
	mu   sync.Mutex
	live map[*subproc]struct{}
}

func newSubprocs(stdout, stderr io.Writer, env ...string) *subprocs {
	exe, _ := os.Executable()
	return &subprocs{exe: exe, env: env, stdout: stdout, stderr: stderr, live: map[*subproc]struct{}{}}
}

type subproc struct {
	cmd  *exec.Cmd
	conn *net.UnixConn

	mu     sync.Mutex
	queue  []func(*frame.Writer) error
	wake   chan struct{}
	closed bool
}

const testCookie = "test-cookie"

func (s *subprocs) Start(spec WorkerSpec, ev WorkerEvents) (WorkerProcess, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	parent := os.NewFile(uintptr(fds[0]), "parent")
	childEnd := os.NewFile(uintptr(fds[1]), "child")
	defer childEnd.Close()
	fc, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.exe, append([]string{spec.Exec}, spec.Args...)...)
	cmd.Env = append(append(append(os.Environ(), s.env...), spec.Env...),
		hostabi.EnvWorkerID+"="+strconv.Itoa(spec.ID),
		hostabi.EnvCookie+"="+testCookie,
		hostabi.EnvChannelFD+"="+strconv.Itoa(hostabi.ChannelFD))
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Dir = spec.Cwd
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var pipes []io.ReadCloser
	if spec.Silent {
		o, err1 := cmd.StdoutPipe()
		e, err2 := cmd.StderrPipe()
		if err = errors.Join(err1, err2); err != nil {
			fc.Close()
			return nil, err
		}
		pipes = []io.ReadCloser{o, e}
	} else {
		cmd.Stdout, cmd.Stderr = lockedWriter{&s.outMu, s.stdout}, lockedWriter{&s.outMu, s.stderr}
	}
	if err := cmd.Start(); err != nil {
		fc.Close()
		return nil, err
	}
	p := &subproc{cmd: cmd, conn: fc.(*net.UnixConn), wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.live[p] = struct{}{}
	s.mu.Unlock()

	readerDone := make(chan struct{})
	var pipesDone sync.WaitGroup
	s.wg.Add(3 + len(pipes))
	for i, r := range pipes {
		pipesDone.Add(1)
		go func() {
			defer s.wg.Done()
			defer pipesDone.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Read(buf)
				if n > 0 {
					if i == 0 {
						ev.Stdout(buf[:n])
					} else {
						ev.Stderr(buf[:n])
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
	go func() { // reader
		defer s.wg.Done()
		defer close(readerDone)
		defer ev.Disconnect()
		defer p.conn.Close()
		r := frame.NewReader(bufio.NewReader(p.conn), 0)
		f, err := r.Read()
		if err != nil || f.Type != frame.TypeHello {
			return
		}
		var h frame.Hello
		if f.Decode(&h) != nil || h.Cookie != testCookie || h.WorkerID != spec.ID {
			ev.ProtocolError(fmt.Errorf("bad hello %+v", h))
			return
		}
		ev.Online()
		for {
			f, err := r.Read()
			if err != nil {
				return
			}
			switch f.Type {
			case frame.TypeMessage:
				ev.Message(append([]byte(nil), f.Body...))
			case frame.TypeExitedAfterDisconnect:
				ev.ExitedAfterDisconnect()
			case frame.TypeListening:
				var l frame.Listening
				if f.Decode(&l) == nil {
					ev.Listening(l.Address, l.Port, l.AddressType)
				}
			}
		}
	}()
	go func() { // writer
		defer s.wg.Done()
		w := frame.NewWriter(p.conn, 0)
		broken := false
		for {
			p.mu.Lock()
			q, closed := p.queue, p.closed
			p.queue = nil
			p.mu.Unlock()
			for _, op := range q {
				if !broken && op(w) != nil {
					broken = true
				}
			}
			if closed && len(q) == 0 {
				return
			}
			if len(q) == 0 {
				<-p.wake
			}
		}
	}()
	go func() { // waiter
		defer s.wg.Done()
		pipesDone.Wait()
		err := cmd.Wait()
		<-readerDone
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.signal()
		s.mu.Lock()
		delete(s.live, p)
		s.mu.Unlock()
		code, sig := 0, ""
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code, sig = -1, unix.SignalName(ws.Signal())
			} else {
				code = ee.ExitCode()
			}
		}
		ev.Exit(code, sig)
	}()
	return p, nil
}

// Close kills what is left and waits for every goroutine.
func (s *subprocs) Close() {
	s.mu.Lock()
	for p := range s.live {
		_ = p.cmd.Process.Kill()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (p *subproc) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *subproc) push(op func(*frame.Writer) error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.queue = append(p.queue, op)
	p.signal()
	return true
}

func (p *subproc) PID() int { return p.cmd.Process.Pid }

func (p *subproc) Send(payload []byte, done func(error)) {
	if !p.push(func(w *frame.Writer) error {
		err := w.Write(frame.Message(payload))
		done(err)
		return err
	}) {
		done(errors.New("channel closed"))
	}
}

func (p *subproc) Delivered(int) {} // reads as fast as it can

func (p *subproc) Disconnect() {
	p.push(func(w *frame.Writer) error { return w.Write(frame.Frame{Type: frame.TypeDisconnect}) })
}

func (p *subproc) Release() { p.conn.Close() }

func (p *subproc) Kill(signal string) error {
	sig := unix.SignalNum(signal)
	if sig == 0 {
		return fmt.Errorf("unknown signal %q", signal)
	}
	return p.cmd.Process.Signal(sig)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
