package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/strata-dl/strata/internal/sysmem"
)

// signalContext returns a context cancelled by the first SIGINT or SIGTERM;
// the command then stops at its next check (a training run saves its
// checkpoint first). A second signal exits at once with status 130, for a
// command that takes too long to stop. stop releases the signals.
func signalContext(stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
		case <-done:
			return
		}
		cancel()
		fmt.Fprintln(stderr, "strata: stopping (interrupt again to exit at once)")
		select {
		case <-sig:
			fmt.Fprintln(stderr, "strata: exiting at once")
			os.Exit(130)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}
}

// cutMaxMemory removes the global --max-memory SIZE flag (accepted by every
// command, before "--") from args and returns the memory limit it sets on
// top of what the machine has (see sysmem.Detect).
func cutMaxMemory(args []string) ([]string, sysmem.Limit, error) {
	lim := sysmem.Detect()
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "max-memory" {
			out = append(out, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, lim, usagef("--max-memory needs a size, such as 4G")
			}
			i++
			val = args[i]
		}
		n, err := sysmem.Parse(val)
		if err != nil {
			return nil, lim, usagef("--max-memory: %v", err)
		}
		lim = lim.WithMax(n)
	}
	return out, lim, nil
}
