package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/strata-dl/strata/board"
)

const boardExamples = `  strata board                                   # runs/ on http://127.0.0.1:6006
  strata board --logdir experiments --addr 127.0.0.1:8080
`

func cmdBoard(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("board", "board [--logdir DIR] [--addr HOST:PORT]", boardExamples, out)
	logdir := fs.String("logdir", "runs", "directory holding one sub-directory per run")
	addr := fs.String("addr", board.DefaultAddr, "address to listen on (loopback by default; another address exposes every run without authentication)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if st, err := os.Stat(*logdir); err != nil || !st.IsDir() {
		return fmt.Errorf("log directory %s does not exist (train a model first: strata train)", *logdir)
	}
	return board.Serve(ctx, *logdir, *addr, board.Options{Logf: func(format string, a ...any) {
		fmt.Fprintf(out, format+"\n", a...)
	}})
}
