package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/internal/sysmem"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

const generateExamples = `  strata generate --run runs/gosrc --prompt "func main() {" --length 400
  strata generate --run runs/gosrc --prompt "// Package " --temperature 0.5 --seed 7 --json
  strata generate --model-file gosrc.safetensors --prompt "func "
`

// cmdGenerate samples text from a trained character-level language model:
// it feeds the prompt through the network once, then draws one character
// at a time from the softmax at the given temperature, carrying the
// recurrent states from step to step.
func cmdGenerate(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("generate", "generate (--run DIR | --model-file FILE) --prompt TEXT [flags]", generateExamples, out)
	runDir := fs.String("run", "", "run directory written by strata train --model charlm")
	file := fs.String("model-file", "", "model file of a char LM (instead of --run)")
	prompt := fs.String("prompt", "", "text to start from (every character must be in the run's vocabulary)")
	length := fs.Int("length", 500, fmt.Sprintf("characters to generate after the prompt (at most %d)", maxGenerateLength))
	temperature := fs.Float64("temperature", 1, "sampling temperature > 0: 1 samples the model's distribution, lower is more conservative, higher more random")
	seed := fs.Uint64("seed", 1, "random seed of the sampling")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of the text")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if (*runDir == "") == (*file == "") {
		return usagef("give --run DIR, a run directory of strata train --model charlm, or --model-file FILE")
	}
	if *prompt == "" {
		return usagef("--prompt is empty: give at least one character to start from")
	}
	if err := checkGenerate(ctx, *temperature, *length); err != nil {
		return err
	}
	s, vocab, err := loadTextSampler(*runDir, *file)
	if err != nil {
		return err
	}
	ids, err := vocab.Encode(*prompt)
	if err != nil {
		var uc *data.UnknownCharError
		if errors.As(err, &uc) {
			return fmt.Errorf("--prompt: character %q (U+%04X) at byte %d is not in the vocabulary of %s (%d characters seen in its training text)",
				uc.Char, uc.Char, uc.Offset, *runDir, vocab.Len())
		}
		return err
	}
	rng := rand.New(rand.NewPCG(*seed, 0x9e4e))
	if err := s.Feed(ids); err != nil {
		return err
	}
	if !*jsonOut {
		fmt.Fprint(out, *prompt)
	}
	var gen strings.Builder
	for range *length {
		if err := ctx.Err(); err != nil {
			break
		}
		id, err := s.Next(rng, *temperature)
		if err != nil {
			return err
		}
		c := vocab.Decode([]int32{id})
		gen.WriteString(c)
		if !*jsonOut {
			fmt.Fprint(out, c)
		}
	}
	if *jsonOut {
		return printJSON(out, map[string]any{"run": *runDir, "prompt": *prompt, "text": gen.String(),
			"length": len([]rune(gen.String())), "temperature": *temperature, "seed": *seed})
	}
	fmt.Fprintln(out)
	return nil
}

// maxGenerateLength bounds generate --length: a million characters is a
// long book; more is a typo, and the text is kept in memory (for --json).
const maxGenerateLength = 1_000_000

// checkGenerate checks --temperature and --length, and the memory the
// generated text will hold: up to 4 bytes a character, twice (the text and
// its JSON encoding).
func checkGenerate(ctx context.Context, temperature float64, length int) error {
	if !(temperature > 0) || math.IsInf(temperature, 1) {
		return usagef("--temperature must be a positive number, got %v", temperature)
	}
	if length < 0 {
		return usagef("--length must not be negative, got %d", length)
	}
	if length > maxGenerateLength {
		return usagef("--length %d is over the limit of %d characters", length, maxGenerateLength)
	}
	return sysmem.Check(sysmem.FromContext(ctx), fmt.Sprintf("generate --length %d", length),
		sysmem.Need{What: "the generated text", Bytes: uint64(length) * utf8.UTFMax * 2})
}

// loadCharLMFrom loads the char LM of a run directory or of a model file.
func loadCharLMFrom(runDir, file string) (*zoo.CharLM, *data.Vocab, error) {
	if runDir != "" {
		return loadCharLM(runDir)
	}
	f, err := checkpoint.LoadSafetensors(file)
	if err != nil {
		return nil, nil, err
	}
	return charLMOf(f, file)
}

// charLMOf rebuilds the char LM of the model file f read from path.
func charLMOf(f *checkpoint.File, path string) (*zoo.CharLM, *data.Vocab, error) {
	m, err := modelfile.FromFile(f)
	if err != nil {
		return nil, nil, modelLoadError(path, fmt.Errorf("%s: %w", path, err))
	}
	lm, ok := m.Net.(*zoo.CharLM)
	if !ok || m.Meta.Vocab == nil || m.Meta.Vocab.Len() != lm.Options.Vocab {
		return nil, nil, fmt.Errorf("%s holds a %T model, not a character language model with its vocabulary", path, m.Net)
	}
	return lm, m.Meta.Vocab, nil
}

// loadCharLM rebuilds a character LM and its vocabulary from a run
// directory's model.safetensors.
func loadCharLM(dir string) (*zoo.CharLM, *data.Vocab, error) {
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("run %s: no such directory", dir)
		}
		return nil, nil, fmt.Errorf("run %s: %w", dir, errors.Unwrap(err))
	} else if !st.IsDir() {
		return nil, nil, fmt.Errorf("run %s: not a directory", dir)
	}
	path := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("run %s has no model.safetensors (is it a run directory? a char LM writes its weights after each epoch)", dir)
	}
	f, err := checkpoint.LoadSafetensors(path)
	if err != nil {
		return nil, nil, err
	}
	if f.Metadata[modelfile.KeyModel] != "" { // a model file (modelfile.Save)
		return charLMOf(f, path)
	}
	var arch charLMArchitecture
	if a := f.Metadata["strata.architecture"]; a == "" {
		return nil, nil, fmt.Errorf("%s does not name its architecture", path)
	} else if err := json.Unmarshal([]byte(a), &arch); err != nil {
		return nil, nil, fmt.Errorf("%s: bad architecture metadata: %v", path, err)
	}
	if arch.Model != "charlm" {
		return nil, nil, fmt.Errorf("run %s holds a %q model, not a character language model (train one with strata train --model charlm)", dir, arch.Model)
	}
	if arch.Vocab == nil || arch.Vocab.Len() != arch.Net.Vocab {
		return nil, nil, fmt.Errorf("%s: the vocabulary in the metadata does not match the model's %d characters", path, arch.Net.Vocab)
	}
	m, err := zoo.NewCharLM(arch.Net)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := nn.Build(m, []int{1}, rand.New(rand.NewPCG(0, 0))); err != nil {
		return nil, nil, err
	}
	if err := train.LoadWeights(m, f, ""); err != nil {
		return nil, nil, fmt.Errorf("%s does not hold the char LM its metadata describes: %w", path, err)
	}
	return m, arch.Vocab, nil
}
