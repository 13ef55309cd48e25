package data

import (
	"fmt"

	"github.com/strata-dl/strata/tensor"
)

// LoadImage reads one PNG or JPEG image as a [height, width, channels]
// tensor, resized (bilinear) to opts.Height×opts.Width (0: its own size),
// grayscale or RGB, and scaled to [0, 1] unless opts.Raw — the same
// preprocessing LoadImageFolder applies.
func LoadImage(path string, opts ImageFolderOptions) (*tensor.Tensor, error) {
	cfg, err := imageConfig(path)
	if err != nil {
		return nil, err
	}
	h, w, c := opts.Height, opts.Width, 3
	if h == 0 {
		h = cfg.Height
	}
	if w == 0 {
		w = cfg.Width
	}
	if h < 0 || w < 0 {
		return nil, fmt.Errorf("data: image %s: size %dx%d is negative", path, h, w)
	}
	if opts.Grayscale {
		c = 1
	}
	x := tensor.Zeros(h, w, c)
	if _, err := loadImage(path, x.Data(), h, w, c, nil); err != nil {
		return nil, err
	}
	if !opts.Raw {
		Rescale(x, 1.0/255, 0)
	}
	return x, nil
}
