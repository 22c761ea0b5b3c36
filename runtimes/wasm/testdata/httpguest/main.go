// Command httpguest is the Go guest the HTTP extension's tests run: it
// listens on PORT (0: any free port) and answers by path.
//
//	/echo    the request as text: method, url, version, headers, body
//	/later   answered from a timer (an asynchronous answer)
//	/status  418 with a custom header, given as a map
//	/big     1 MiB of 'x'
//	/panic   panics (the worker exits with 1, as after an uncaught exception)
package main

import (
	"os"
	"strconv"
	"strings"

	isowasm "github.com/isowasm/isowasm/hostabi/guest/go"
)

func main() {}

func init() {
	w := isowasm.NewWorker(nil)
	isowasm.HandleHTTPAsync(func(req *isowasm.Request) {
		switch req.Path() {
		case "/echo":
			var b strings.Builder
			b.WriteString(req.Method + " " + req.URL + " HTTP/" + req.HTTPVersion + "\n")
			for _, h := range req.Headers {
				if h.Name == "host" || h.Name == "user-agent" || h.Name == "accept-encoding" {
					continue
				}
				b.WriteString(h.Name + ": " + h.Value + "\n")
			}
			b.WriteString("body: " + string(req.Body) + "\n")
			b.WriteString("worker: " + strconv.Itoa(w.WorkerID()) + "\n")
			req.Respond(isowasm.Text(200, b.String()))
		case "/later":
			isowasm.SetTimeout(5, func() { req.Respond(isowasm.Text(200, "later")) })
		case "/status":
			req.Respond(isowasm.Response{Status: 418, Headers: []isowasm.Header{{Name: "X-Tea", Value: "pot"}}, Body: []byte("teapot")})
		case "/big":
			req.Respond(isowasm.Response{Body: []byte(strings.Repeat("x", 1<<20))})
		case "/panic":
			panic("on purpose")
		default:
			req.Respond(isowasm.Text(404, "not found"))
		}
	})
	w.After(isowasm.InitializeComplete, func(*isowasm.Event) {
		port, _ := strconv.Atoi(os.Getenv("PORT"))
		if _, err := isowasm.ListenHTTP(port, "127.0.0.1"); err != nil {
			isowasm.LogError(err.Error())
			isowasm.Exit(1)
		}
	})
}
