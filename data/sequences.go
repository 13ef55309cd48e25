package data

import (
	"fmt"

	"github.com/strata-dl/strata/tensor"
)

// Integer is a Go integer type that token ids may come in.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// MaxTokenID is the largest token id a float32 tensor holds exactly (2²⁴):
// Strata's tensors are float32, and nn.Embedding reads ids from them.
const MaxTokenID = 1 << 24

// PadOptions configure PadSequences, with Keras's pad_sequences defaults.
type PadOptions struct {
	// MaxLen is the length of every output row; 0 means the longest input.
	MaxLen int `json:"maxlen,omitempty"`
	// Padding is "pre" (the default: pad at the start) or "post".
	Padding string `json:"padding,omitempty"`
	// Truncating is "pre" (the default: drop from the start of a longer
	// sequence) or "post".
	Truncating string `json:"truncating,omitempty"`
	// Value fills the padding (0, the id nn.Embedding's MaskZero masks).
	Value int `json:"value,omitempty"`
}

// PadSequences turns token-id sequences of any lengths and any integer type
// into a [n, maxlen] tensor of ids, the input of nn.Embedding, without a
// conversion loop by hand:
//
//	x, err := data.PadSequences([][]int{{5, 8}, {3, 1, 4, 1}}, data.PadOptions{MaxLen: 3})
//	// x = [[0 5 8] [1 4 1]]
//
// It returns an error for an empty list, a negative MaxLen, an unknown
// Padding or Truncating, and an id (or Value) that is negative or above
// MaxTokenID, naming the sequence and position.
func PadSequences[T Integer](seqs [][]T, opts PadOptions) (*tensor.Tensor, error) {
	if len(seqs) == 0 {
		return nil, fmt.Errorf("data: pad sequences: no sequences")
	}
	for _, o := range []struct{ name, v string }{{"padding", opts.Padding}, {"truncating", opts.Truncating}} {
		if o.v != "" && o.v != "pre" && o.v != "post" {
			return nil, fmt.Errorf("data: pad sequences: %s %q is not \"pre\" or \"post\"", o.name, o.v)
		}
	}
	if opts.MaxLen < 0 {
		return nil, fmt.Errorf("data: pad sequences: MaxLen %d is negative", opts.MaxLen)
	}
	if opts.Value < 0 || opts.Value > MaxTokenID {
		return nil, fmt.Errorf("data: pad sequences: padding value %d is not a token id in [0, %d]", opts.Value, MaxTokenID)
	}
	width := opts.MaxLen
	if width == 0 {
		for _, s := range seqs {
			width = max(width, len(s))
		}
	}
	if width == 0 {
		return nil, fmt.Errorf("data: pad sequences: every sequence is empty")
	}
	out := make([]float32, len(seqs)*width)
	for i, s := range seqs {
		if len(s) > width {
			if opts.Truncating == "post" {
				s = s[:width]
			} else {
				s = s[len(s)-width:]
			}
		}
		row := out[i*width : (i+1)*width]
		at := width - len(s) // "pre" padding
		if opts.Padding == "post" {
			at = 0
		}
		for j := range row {
			row[j] = float32(opts.Value)
		}
		for j, v := range s {
			if v < 0 || uint64(v) > MaxTokenID {
				return nil, fmt.Errorf("data: pad sequences: sequence %d, position %d: id %d is not in [0, %d]", i, j, v, MaxTokenID)
			}
			row[at+j] = float32(v)
		}
	}
	return tensor.New([]int{len(seqs), width}, out), nil
}

// Tokens puts integer token ids of any integer type into a float32 tensor
// of the given shape (all of ids when shape is empty), checking that each
// is in [0, MaxTokenID]; the error names the first bad position.
func Tokens[T Integer](ids []T, shape ...int) (*tensor.Tensor, error) {
	if len(shape) == 0 {
		shape = []int{len(ids)}
	}
	if tensor.Numel(shape) != len(ids) {
		return nil, fmt.Errorf("data: tokens: %d ids do not fill shape %v", len(ids), shape)
	}
	out := make([]float32, len(ids))
	for i, v := range ids {
		if v < 0 || uint64(v) > MaxTokenID {
			return nil, fmt.Errorf("data: tokens: id %d at index %d is not in [0, %d]", v, i, MaxTokenID)
		}
		out[i] = float32(v)
	}
	return tensor.New(shape, out), nil
}
