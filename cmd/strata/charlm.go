package main

import (
	"context"
	"io"
)

// cmdTrainCharLM trains the character-level language model.
func cmdTrainCharLM(ctx context.Context, args []string, out io.Writer) error {
	return usagef("charlm is not wired yet")
}
