// Command sandboxguest is the hostile Go guest the sandbox tests run. Each
// message {type: T, ...} makes it try something and answer
// {type: T, results: {attempt: "ok" | error text}}:
//
//	fs      inside /jail (read-write) and /ro (read-only): ordinary file use,
//	        then every way out: "..", links made before it ran (abs, rel,
//	        dirlink) and links it makes itself, writes through /ro
//	env     its whole environment, as {results: {env: [KEY=VALUE...]}}
//	listen  http_listen on {host, port}
//	grow    allocates {mib} MiB, a MiB at a time, touching every page
//	spam    {count} sends the host refuses (not CBOR)
//
// Given arguments (isowasm run … sandboxguest.wasm env), it runs env,
// listen HOST PORT or grow MIB once ready and prints the results.
package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	isowasm "github.com/isowasm/isowasm/hostabi/guest/go"
)

func main() {}

var kept [][]byte // what grow allocated stays live

func init() {
	w := isowasm.NewWorker(nil)
	isowasm.HandleHTTP(func(*isowasm.Request) isowasm.Response { return isowasm.Text(200, "ok") })
	answer := func(typ string, results isowasm.Object) {
		w.Send(isowasm.Obj("type", typ, "results", results))
	}
	w.OnType("fs", func(e *isowasm.Event) { answer("fs", fsAttempts()) })
	w.OnType("env", func(e *isowasm.Event) {
		var env []any
		for _, kv := range os.Environ() {
			env = append(env, kv)
		}
		answer("env", isowasm.Obj("env", env))
	})
	w.OnType("listen", func(e *isowasm.Event) {
		m := e.Message.(isowasm.Object)
		answer("listen", isowasm.Obj("listen", listen(m.String("host"), int(m.Number("port")))))
	})
	w.OnType("grow", func(e *isowasm.Event) {
		grow(int(e.Message.(isowasm.Object).Number("mib")))
		answer("grow", isowasm.Obj("grow", "ok"))
	})
	w.OnType("spam", func(e *isowasm.Event) {
		refused := 0
		for range int(e.Message.(isowasm.Object).Number("count")) {
			if isowasm.SendCBOR([]byte{0xff}) != nil {
				refused++
			}
		}
		answer("spam", isowasm.Obj("refused", float64(refused)))
	})

	// Run by `isowasm run … sandboxguest.wasm COMMAND ARGS`, it does the
	// same once ready and prints "COMMAND: result" lines on stdout.
	w.After(isowasm.InitializeComplete, func(*isowasm.Event) {
		if len(os.Args) < 2 {
			return
		}
		switch args := os.Args[1:]; args[0] {
		case "env":
			for _, kv := range os.Environ() {
				isowasm.Log("env: " + kv)
			}
			isowasm.Log("env: end")
		case "listen":
			port, _ := strconv.Atoi(args[2])
			isowasm.Log("listen: " + listen(args[1], port))
		case "grow":
			mib, _ := strconv.Atoi(args[1])
			grow(mib)
			isowasm.Log("grow: ok")
		}
	})
}

func listen(host string, port int) string {
	_, err := isowasm.ListenHTTP(port, host)
	return result(err)
}

// grow allocates mib MiB, a MiB at a time, touching every page.
func grow(mib int) {
	for range mib {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		kept = append(kept, b)
	}
}

func result(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// fsAttempts runs the file attempts in order; each result is "ok" or the
// error the guest got.
func fsAttempts() isowasm.Object {
	var r isowasm.Object
	try := func(name string, f func() error) { r = r.Set(name, result(f())) }
	read := func(p string) func() error {
		return func() error {
			b, err := os.ReadFile(p)
			if err == nil && !strings.HasPrefix(string(b), "inside") {
				return nil // read something from outside: "ok" is the escape
			}
			return err
		}
	}
	write := func(p string) func() error { return func() error { return os.WriteFile(p, []byte("guest"), 0o644) } }

	// Ordinary use inside the grant.
	try("write", write("/jail/new.txt"))
	try("read", func() error {
		b, err := os.ReadFile("/jail/new.txt")
		if err == nil && string(b) != "guest" {
			return os.ErrInvalid
		}
		return err
	})
	try("mkdir", func() error { return os.Mkdir("/jail/sub", 0o755) })
	try("rename", func() error { return os.Rename("/jail/new.txt", "/jail/sub/moved.txt") })
	try("readdir", func() error {
		entries, err := os.ReadDir("/jail/sub")
		if err == nil && (len(entries) != 1 || entries[0].Name() != "moved.txt") {
			return os.ErrInvalid
		}
		return err
	})
	try("linkInside", func() error {
		if err := os.Symlink("sub/moved.txt", "/jail/inside-link"); err != nil {
			return err
		}
		b, err := os.ReadFile("/jail/inside-link")
		if err == nil && string(b) != "guest" {
			return os.ErrInvalid
		}
		return err
	})
	try("remove", func() error { return os.Remove("/jail/sub/moved.txt") })
	try("readRO", read("/ro/inside.txt"))

	// The ways out. Each "ok" below is an escape.
	try("dotdot", read("/jail/../secret.txt")) // Go cleans this one itself
	try("rawDotdot", func() error {
		// The host sees ".." only from a raw openat on the grant's
		// descriptor (the first preopen, after stdio: 3).
		fd, err := syscall.Openat(3, "sub/../../secret.txt", syscall.O_RDONLY, 0)
		if err == nil {
			syscall.Close(fd)
		}
		return err
	})
	try("absLink", read("/jail/abs"))
	try("relLink", read("/jail/rel"))
	try("writeThroughRelLink", write("/jail/rel"))
	try("dirLink", write("/jail/dirlink/planted.txt"))
	try("madeRelLink", func() error {
		if err := os.Symlink("../secret.txt", "/jail/mine"); err != nil {
			return err
		}
		return read("/jail/mine")()
	})
	try("madeWriteLink", func() error {
		if err := os.Symlink("../planted.txt", "/jail/plant"); err != nil {
			return err
		}
		return write("/jail/plant")()
	})
	try("madeUpLink", func() error {
		if err := os.Symlink("..", "/jail/up"); err != nil {
			return err
		}
		return read("/jail/up/secret.txt")()
	})
	try("madeAbsLink", func() error {
		if err := os.Symlink("/etc", "/jail/etc"); err != nil {
			return err
		}
		return read("/jail/etc/hostname")()
	})
	try("writeRO", write("/ro/new.txt"))
	try("overwriteRO", write("/ro/inside.txt"))
	try("mkdirRO", func() error { return os.Mkdir("/ro/sub", 0o755) })
	try("removeRO", func() error { return os.Remove("/ro/inside.txt") })
	return r
}
