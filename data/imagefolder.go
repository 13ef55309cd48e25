package data

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the decoders
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/strata-dl/strata/internal/regular"
	"github.com/strata-dl/strata/tensor"
)

// maxImagePixels bounds the size of an image this package decodes, checked
// from the header before decoding.
const maxImagePixels = 1 << 26

// ImageFolderOptions configures LoadImageFolder.
type ImageFolderOptions struct {
	// Height and Width are the size every image is resized to (bilinear);
	// 0 means the size of the first image, in sorted order.
	Height int `json:"height,omitempty"`
	Width  int `json:"width,omitempty"`
	// Grayscale gives one channel (luma 0.299 R + 0.587 G + 0.114 B, as
	// PIL's "L" mode); the default is three, RGB.
	Grayscale bool `json:"grayscale,omitempty"`
	// Raw keeps pixel values in 0–255; the default scales them to [0, 1].
	Raw bool `json:"raw,omitempty"`
}

// LoadImageFolder loads a labelled image dataset laid out as one
// sub-directory per class:
//
//	dir/cat/001.png
//	dir/dog/a.jpg
//
// Classes are the sub-directory names in sorted order, their index the label.
// Every PNG and JPEG file (by extension: .png, .jpg, .jpeg, in any case)
// under a class directory, at any depth, is a sample; other files and hidden
// files are skipped. It returns X [n, height, width, channels] (NHWC, in
// [0, 1] unless Raw), Y [n] class indices in sorted file order, and the class
// names. Alpha is dropped.
//
// Resizing is bilinear with half-pixel centres and no antialiasing (as
// tf.image.resize). It returns an error naming the file for an image that
// cannot be decoded or is over 2²⁶ pixels, and an error if there are no class
// directories or no images.
func LoadImageFolder(dir string, opts ImageFolderOptions) (Tensors, []string, error) {
	return LoadImageFolderContext(context.Background(), dir, opts)
}

// LoadImageFolderContext is LoadImageFolder that stops, returning
// ctx.Err(), when ctx is cancelled: checked for every file listed and
// every image decoded, so that Ctrl-C during the load of a large folder
// takes effect at once.
func LoadImageFolderContext(ctx context.Context, dir string, opts ImageFolderOptions) (Tensors, []string, error) {
	if opts.Height < 0 || opts.Width < 0 {
		return Tensors{}, nil, fmt.Errorf("data: image folder: size %dx%d is negative", opts.Height, opts.Width)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Tensors{}, nil, fmt.Errorf("data: image folder: %w", err)
	}
	var classes []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			classes = append(classes, e.Name())
		}
	}
	sort.Strings(classes)
	if len(classes) == 0 {
		return Tensors{}, nil, fmt.Errorf("data: image folder %s has no class sub-directories", dir)
	}
	var (
		files  []string
		labels []float32
	)
	for c, name := range classes {
		err := filepath.WalkDir(filepath.Join(dir, name), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != filepath.Join(dir, name) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
				switch strings.ToLower(filepath.Ext(path)) {
				case ".png", ".jpg", ".jpeg":
					files = append(files, path)
					labels = append(labels, float32(c))
				}
			}
			return nil
		})
		if ctx.Err() != nil {
			return Tensors{}, nil, ctx.Err()
		}
		if err != nil {
			return Tensors{}, nil, fmt.Errorf("data: image folder: %w", err)
		}
	}
	if len(files) == 0 {
		return Tensors{}, nil, fmt.Errorf("data: image folder %s has no .png or .jpg files in its %d class directories", dir, len(classes))
	}
	h, w := opts.Height, opts.Width
	if h == 0 || w == 0 {
		cfg, err := imageConfig(files[0])
		if err != nil {
			return Tensors{}, nil, err
		}
		if h == 0 {
			h = cfg.Height
		}
		if w == 0 {
			w = cfg.Width
		}
	}
	c := 3
	if opts.Grayscale {
		c = 1
	}
	x := tensor.Zeros(len(files), h, w, c)
	size := h * w * c

	// Decode in parallel; report the error of the first failing file in
	// sorted order so the result does not depend on scheduling.
	errs := make([]error, len(files))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
	)
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch []float32
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(files) {
					return
				}
				if errs[i] = ctx.Err(); errs[i] != nil {
					return
				}
				scratch, errs[i] = loadImage(files[i], x.Data()[i*size:(i+1)*size], h, w, c, scratch)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Tensors{}, nil, err
	}
	for _, err := range errs {
		if err != nil {
			return Tensors{}, nil, err
		}
	}
	if !opts.Raw {
		Rescale(x, 1.0/255, 0)
	}
	return Tensors{X: x, Y: tensor.New([]int{len(files)}, labels)}, classes, nil
}

func imageConfig(path string) (image.Config, error) {
	f, err := regular.Open(path)
	if err != nil {
		return image.Config{}, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return cfg, fmt.Errorf("data: image %s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return cfg, fmt.Errorf("data: image %s: %s of %dx%d pixels, want 1 to %d pixels", path, format, cfg.Width, cfg.Height, maxImagePixels)
	}
	return cfg, nil
}

// loadImage decodes the image at path and writes it resized to [h, w, c]
// into dst. scratch holds the image at its own size and is returned for
// reuse.
func loadImage(path string, dst []float32, h, w, c int, scratch []float32) ([]float32, error) {
	if _, err := imageConfig(path); err != nil {
		return scratch, err
	}
	f, err := regular.Open(path)
	if err != nil {
		return scratch, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("truncated: %w", err)
		}
		return scratch, fmt.Errorf("data: image %s: %w", path, err)
	}
	b := img.Bounds()
	ih, iw := b.Dy(), b.Dx()
	n := ih * iw * c
	if cap(scratch) < n {
		scratch = make([]float32, n)
	}
	src := scratch[:n]
	pixels(src, img, c)
	resizeBilinear(dst, src, ih, iw, h, w, c)
	return scratch, nil
}

// pixels writes img's pixels into dst as [height, width, c] values in 0–255:
// RGB for c = 3, luma for c = 1.
func pixels(dst []float32, img image.Image, c int) {
	b := img.Bounds()
	i := 0
	put := func(r, g, bl float32) {
		if c == 1 {
			dst[i] = 0.299*r + 0.587*g + 0.114*bl
			i++
			return
		}
		dst[i], dst[i+1], dst[i+2] = r, g, bl
		i += 3
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				v := float32(row[x])
				put(v, v, v)
			}
		}
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				put(float32(r), float32(g), float32(bl))
			}
		}
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				put(float32(row[4*x]), float32(row[4*x+1]), float32(row[4*x+2]))
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				p := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
				put(float32(p.R)/257, float32(p.G)/257, float32(p.B)/257)
			}
		}
	}
}

// resizeBilinear resizes src [sh, sw, c] to dst [dh, dw, c] by bilinear
// interpolation with half-pixel centres, clamping at the edges.
func resizeBilinear(dst, src []float32, sh, sw, dh, dw, c int) {
	if sh == dh && sw == dw {
		copy(dst, src)
		return
	}
	axis := func(d, s int) (lo, hi []int, frac []float32) {
		lo, hi, frac = make([]int, d), make([]int, d), make([]float32, d)
		scale := float64(s) / float64(d)
		for i := range d {
			p := (float64(i)+0.5)*scale - 0.5
			p = max(p, 0)
			f := int(p)
			lo[i] = min(f, s-1)
			hi[i] = min(f+1, s-1)
			frac[i] = float32(p - float64(f))
		}
		return
	}
	y0, y1, fy := axis(dh, sh)
	x0, x1, fx := axis(dw, sw)
	for y := range dh {
		for x := range dw {
			o := dst[(y*dw+x)*c : (y*dw+x+1)*c]
			a := src[(y0[y]*sw+x0[x])*c:]
			b := src[(y0[y]*sw+x1[x])*c:]
			cc := src[(y1[y]*sw+x0[x])*c:]
			d := src[(y1[y]*sw+x1[x])*c:]
			for k := range o {
				top := a[k] + (b[k]-a[k])*fx[x]
				bot := cc[k] + (d[k]-cc[k])*fx[x]
				o[k] = top + (bot-top)*fy[y]
			}
		}
	}
}
