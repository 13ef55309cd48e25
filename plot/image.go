package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"math"
	"strings"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot/font/liberation"

	"github.com/strata-dl/strata/tensor"
)

// GridOptions configure ImageGrid. Zero values mean the defaults given.
type GridOptions struct {
	// Cols is the number of images per row; zero means ⌈√n⌉.
	Cols int
	// Lo and Hi are the values shown as black and white (per channel for
	// RGB): for example 0 and 1, or -1 and 1 for a tanh generator. Lo == Hi
	// means the minimum and maximum of all the images.
	Lo, Hi float32
	// Scale is the integer upscale factor of each pixel; zero picks the
	// smallest that makes images at least 64 pixels tall.
	Scale int
	// Pad is the gap between images in pixels; zero means 4, negative none.
	Pad int
	// Labels, if not nil, are drawn under the images (one per image; extra
	// or missing entries are ignored).
	Labels []string
	// Title, if not empty, is drawn above the grid.
	Title string
}

// ImageGrid draws a batch of images as a PNG grid, for example samples from
// a generator or a batch of inputs with their predicted labels. images is
// [n, h, w] (grayscale) or [n, h, w, c] with c = 1 (grayscale) or 3 (RGB),
// NHWC as everywhere in Strata. Values are mapped linearly from [Lo, Hi] to
// [0, 255] and clamped; NaN shows magenta. It returns an error for any other
// shape or an empty batch.
func ImageGrid(w io.Writer, images *tensor.Tensor, opts GridOptions) error {
	img, err := gridImage(images, opts)
	if err != nil {
		return err
	}
	return writePNG(w, img)
}

// SaveImageGrid writes ImageGrid's PNG to path, creating its directory.
func SaveImageGrid(path string, images *tensor.Tensor, opts GridOptions) error {
	return saveFile(path, func(w io.Writer) error { return ImageGrid(w, images, opts) })
}

func gridImage(images *tensor.Tensor, opts GridOptions) (*image.RGBA, error) {
	if images == nil {
		return nil, fmt.Errorf("plot: ImageGrid: nil images")
	}
	s := images.Shape()
	var n, h, wd, ch int
	switch {
	case len(s) == 3:
		n, h, wd, ch = s[0], s[1], s[2], 1
	case len(s) == 4 && (s[3] == 1 || s[3] == 3):
		n, h, wd, ch = s[0], s[1], s[2], s[3]
	default:
		return nil, fmt.Errorf("plot: ImageGrid: images must be [n, h, w] or [n, h, w, 1|3], got %v", s)
	}
	if n == 0 || h == 0 || wd == 0 {
		return nil, fmt.Errorf("plot: ImageGrid: no pixels in images of shape %v", s)
	}
	data := images.Data()
	lo, hi := opts.Lo, opts.Hi
	if lo == hi {
		lo, hi = finiteRange(data)
	}
	cols := opts.Cols
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	scale := opts.Scale
	if scale <= 0 {
		scale = max(1, (64+h-1)/h)
	}
	pad := opts.Pad
	if pad == 0 {
		pad = 4
	}
	pad = max(pad, 0)
	labelH := 0
	if opts.Labels != nil {
		labelH = 20
	}
	titleH := 0
	if opts.Title != "" {
		titleH = 30
	}
	tw, th := wd*scale, h*scale+labelH
	W := cols*tw + (cols+1)*pad
	H := rows*th + (rows+1)*pad + titleH
	out := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	if opts.Title != "" {
		drawText(out, W/2, titleH/2+pad/2, opts.Title, 17, true, color.Black, alignCenter)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	level := func(v float32) uint8 {
		f := (v - lo) / span
		switch {
		case f <= 0:
			return 0
		case f >= 1:
			return 255
		}
		return uint8(f*255 + 0.5)
	}
	per := h * wd * ch
	for i := 0; i < n; i++ {
		x0 := pad + (i%cols)*(tw+pad)
		y0 := titleH + pad + (i/cols)*(th+pad)
		px := data[i*per : (i+1)*per]
		for y := 0; y < h; y++ {
			for x := 0; x < wd; x++ {
				var c color.RGBA
				o := (y*wd + x) * ch
				if ch == 1 {
					v := px[o]
					g := level(v)
					c = color.RGBA{g, g, g, 255}
					if v != v {
						c = color.RGBA{255, 0, 255, 255}
					}
				} else {
					c = color.RGBA{level(px[o]), level(px[o+1]), level(px[o+2]), 255}
					if px[o] != px[o] || px[o+1] != px[o+1] || px[o+2] != px[o+2] {
						c = color.RGBA{255, 0, 255, 255}
					}
				}
				fillRect(out, x0+x*scale, y0+y*scale, scale, scale, c)
			}
		}
		if i < len(opts.Labels) && opts.Labels[i] != "" {
			drawText(out, x0+tw/2, y0+h*scale+labelH/2+1, opts.Labels[i], 13, false, color.Black, alignCenter)
		}
	}
	return out, nil
}

// finiteRange returns the minimum and maximum finite value, or 0 and 1.
func finiteRange(d []float32) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range d {
		if v == v && !math.IsInf(float64(v), 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo > hi {
		return 0, 1
	}
	return lo, hi
}

// fillRect paints the w×h rectangle at (x, y).
func fillRect(img *image.RGBA, x, y, w, h int, c color.RGBA) {
	for yy := y; yy < y+h; yy++ {
		row := img.Pix[img.PixOffset(x, yy):]
		for xx := 0; xx < w; xx++ {
			row[4*xx], row[4*xx+1], row[4*xx+2], row[4*xx+3] = c.R, c.G, c.B, c.A
		}
	}
}

// Colormap selects the colours of an attribution heatmap.
type Colormap int

const (
	// ColormapAuto is ColormapDiverging when the heat has negative values
	// and ColormapHot otherwise.
	ColormapAuto Colormap = iota
	// ColormapDiverging maps -m … 0 … +m (m = max |heat|) to blue, white
	// and red, for signed attributions such as gradient × input.
	ColormapDiverging
	// ColormapHot maps 0 … max to black, red, yellow and white.
	ColormapHot
	// ColormapViridis maps min … max to matplotlib's viridis.
	ColormapViridis
)

var (
	// rdBu is matplotlib's "RdBu_r": blue for negative, red for positive.
	rdBu = []color.RGBA{
		{5, 48, 97, 255}, {33, 102, 172, 255}, {67, 147, 195, 255}, {146, 197, 222, 255}, {209, 229, 240, 255},
		{247, 247, 247, 255},
		{253, 219, 199, 255}, {244, 165, 130, 255}, {214, 96, 77, 255}, {178, 24, 43, 255}, {103, 0, 31, 255},
	}
	hot = []color.RGBA{
		{10, 0, 0, 255}, {120, 0, 0, 255}, {230, 0, 0, 255}, {255, 90, 0, 255},
		{255, 190, 0, 255}, {255, 255, 60, 255}, {255, 255, 255, 255},
	}
	viridis = []color.RGBA{
		{68, 1, 84, 255}, {72, 40, 120, 255}, {62, 74, 137, 255}, {49, 104, 142, 255}, {38, 130, 142, 255},
		{31, 158, 137, 255}, {53, 183, 121, 255}, {110, 206, 88, 255}, {181, 222, 43, 255}, {253, 231, 37, 255},
	}
)

// OverlayOptions configure Overlay. Zero values mean the defaults given.
type OverlayOptions struct {
	// Caption is drawn above the picture, e.g. "label 7, predicted 7 (0.98)".
	Caption string
	// Alpha is the opacity of the strongest attribution; zero means 0.75.
	// Weaker attributions are more transparent, so the input shows through
	// where the heat is small.
	Alpha float64
	// Colormap defaults to ColormapAuto.
	Colormap Colormap
	// Scale is the integer upscale factor; zero picks the smallest that
	// makes the longer side at least 280 pixels (28×28 → 280×280).
	Scale int
}

// Overlay draws an attribution heatmap over its input as a PNG: the input
// in grayscale (normalised to its own range), the heat blended on top in a
// colormap, a caption above and a colour bar with its value range below.
// image is [h, w] or [h, w, c] (a leading batch axis of 1 is allowed; RGB is
// turned to gray); heat is [h, w] or [h, w, 1] (also with an optional
// leading 1). It returns an error if the shapes do not match.
func Overlay(w io.Writer, img, heat *tensor.Tensor, opts OverlayOptions) error {
	out, err := overlayImage(img, heat, opts)
	if err != nil {
		return err
	}
	return writePNG(w, out)
}

// SaveOverlay writes Overlay's PNG to path, creating its directory.
func SaveOverlay(path string, img, heat *tensor.Tensor, opts OverlayOptions) error {
	return saveFile(path, func(w io.Writer) error { return Overlay(w, img, heat, opts) })
}

// hwc reads a tensor as [h, w, c], dropping a leading axis of size 1.
func hwc(t *tensor.Tensor) (h, w, c int, ok bool) {
	s := t.Shape()
	if len(s) >= 3 && s[0] == 1 && (len(s) == 4 || s[len(s)-1] > 4) {
		s = s[1:]
	}
	switch len(s) {
	case 2:
		return s[0], s[1], 1, true
	case 3:
		return s[0], s[1], s[2], true
	}
	return 0, 0, 0, false
}

func overlayImage(img, heat *tensor.Tensor, opts OverlayOptions) (*image.RGBA, error) {
	if img == nil || heat == nil {
		return nil, fmt.Errorf("plot: Overlay: nil tensor")
	}
	h, w, c, ok := hwc(img)
	if !ok || h == 0 || w == 0 || (c != 1 && c != 3 && c != 4) {
		return nil, fmt.Errorf("plot: Overlay: image must be [h, w] or [h, w, 1|3], got %v", img.Shape())
	}
	hh, hw, hc, ok := hwc(heat)
	if !ok || hh != h || hw != w || hc != 1 {
		return nil, fmt.Errorf("plot: Overlay: heat must be [%d, %d], got %v", h, w, heat.Shape())
	}
	alpha := opts.Alpha
	if alpha <= 0 {
		alpha = 0.75
	}
	alpha = math.Min(alpha, 1)
	scale := opts.Scale
	if scale <= 0 {
		scale = max(1, (280+max(h, w)-1)/max(h, w))
	}
	// Grayscale input normalised to [0, 1].
	gray := make([]float64, h*w)
	d := img.Data()
	for i := range gray {
		if c >= 3 {
			gray[i] = 0.299*float64(d[i*c]) + 0.587*float64(d[i*c+1]) + 0.114*float64(d[i*c+2])
		} else {
			gray[i] = float64(d[i*c])
		}
	}
	glo, ghi := finiteRange64(gray)
	// Heat normalised to [-1, 1] (diverging) or [0, 1].
	hd := heat.Data()
	hlo, hhi := finiteRange(hd)
	cmap := opts.Colormap
	if cmap == ColormapAuto {
		cmap = ColormapHot
		if hlo < 0 {
			cmap = ColormapDiverging
		}
	}
	var ramp []color.RGBA
	var barLo, barHi float64
	norm := make([]float64, h*w) // position on the ramp, 0..1
	weight := make([]float64, h*w)
	switch cmap {
	case ColormapDiverging:
		ramp = rdBu
		m := math.Max(math.Abs(float64(hlo)), math.Abs(float64(hhi)))
		if m == 0 {
			m = 1
		}
		barLo, barHi = -m, m
		for i, v := range hd {
			u := float64(v) / m
			norm[i] = (u + 1) / 2
			weight[i] = math.Abs(u)
		}
	default:
		ramp = hot
		if cmap == ColormapViridis {
			ramp = viridis
		}
		lo, hi := float64(hlo), float64(hhi)
		if cmap == ColormapHot && lo > 0 {
			lo = 0
		}
		if hi == lo {
			hi = lo + 1
		}
		barLo, barHi = lo, hi
		for i, v := range hd {
			u := (float64(v) - lo) / (hi - lo)
			norm[i] = u
			weight[i] = math.Sqrt(math.Max(u, 0))
			if cmap == ColormapViridis {
				weight[i] = 1
			}
		}
	}
	margin, barH := 12, 54
	top := margin // caption strip, or a margin without one
	if opts.Caption != "" {
		top = 34
	}
	W := w*scale + 2*margin
	H := top + h*scale + barH
	out := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	if opts.Caption != "" {
		drawText(out, W/2, top/2+3, opts.Caption, 16, true, color.Black, alignCenter)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			g := 0.0
			if ghi > glo && !math.IsNaN(gray[i]) {
				g = (gray[i] - glo) / (ghi - glo)
			}
			// Dim the input a little so that bright pixels do not wash out the colour.
			g = 0.15 + 0.7*g
			col := color.RGBA{uint8(g * 255), uint8(g * 255), uint8(g * 255), 255}
			if v := hd[i]; v == v && !math.IsInf(float64(v), 0) {
				hc := lerpColors(ramp, norm[i])
				a := alpha * math.Min(math.Max(weight[i], 0), 1)
				col = blend(col, hc, a)
			}
			fillRect(out, margin+x*scale, top+y*scale, scale, scale, col)
		}
	}
	colorBarH(out, margin, top+h*scale+10, w*scale, 12, ramp, barLo, barHi, cmap == ColormapDiverging)
	return out, nil
}

// finiteRange64 is finiteRange for float64 values.
func finiteRange64(d []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range d {
		if finite(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		return 0, 1
	}
	return lo, hi
}

// blend returns (1-a)·base + a·top.
func blend(base, top color.RGBA, a float64) color.RGBA {
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-a) + float64(y)*a)) }
	return color.RGBA{mix(base.R, top.R), mix(base.G, top.G), mix(base.B, top.B), 255}
}

// colorBarH draws a horizontal colour bar with its end values (and 0 for
// a diverging map) written below.
func colorBarH(img *image.RGBA, x, y, w, h int, ramp []color.RGBA, lo, hi float64, diverging bool) {
	for i := 0; i < w; i++ {
		fillRect(img, x+i, y, 1, h, lerpColors(ramp, (float64(i)+0.5)/float64(w)))
	}
	edge := color.RGBA{150, 150, 150, 255}
	fillRect(img, x, y, w, 1, edge)
	fillRect(img, x, y+h-1, w, 1, edge)
	fillRect(img, x, y, 1, h, edge)
	fillRect(img, x+w-1, y, 1, h, edge)
	ty := y + h + 12
	if tiny := (hi - lo) * 1e-6; math.Abs(lo) < tiny {
		lo = 0
	}
	drawText(img, x, ty, formatValue(lo), 12, false, color.Black, alignLeft)
	drawText(img, x+w, ty, formatValue(hi), 12, false, color.Black, alignRight)
	if diverging {
		drawText(img, x+w/2, ty, "0", 12, false, color.Black, alignCenter)
	}
}

type align int

const (
	alignLeft align = iota
	alignCenter
	alignRight
)

// faceFor returns Liberation Sans (bold or regular) at size pixels.
func faceFor(size float64, bold bool) xfont.Face {
	for _, f := range liberation.Collection() {
		if f.Font.Variant != "Sans" || f.Font.Style != xfont.StyleNormal {
			continue
		}
		if (f.Font.Weight == xfont.WeightBold) != bold {
			continue
		}
		face, err := opentype.NewFace(f.Face, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: xfont.HintingFull})
		if err == nil {
			return face
		}
	}
	return nil
}

// drawText writes s with its vertical centre at y, aligned at x.
func drawText(img *image.RGBA, x, y int, s string, size float64, bold bool, c color.Color, a align) {
	face := faceFor(size, bold)
	if face == nil || strings.TrimSpace(s) == "" {
		return
	}
	defer face.Close()
	d := &xfont.Drawer{Dst: img, Src: image.NewUniform(c), Face: face}
	width := d.MeasureString(s)
	// Shorten text that does not fit the picture.
	for width.Ceil() > img.Bounds().Dx()-4 && len([]rune(s)) > 2 {
		r := []rune(strings.TrimSuffix(s, "…"))
		s = string(r[:len(r)-1]) + "…"
		width = d.MeasureString(s)
	}
	m := face.Metrics()
	baseline := fixed.I(y) + (m.Ascent-m.Descent)/2
	var start fixed.Int26_6
	switch a {
	case alignLeft:
		start = fixed.I(x)
	case alignCenter:
		start = fixed.I(x) - width/2
	case alignRight:
		start = fixed.I(x) - width
	}
	start = max(start, fixed.I(1))
	d.Dot = fixed.Point26_6{X: start, Y: baseline}
	d.DrawString(s)
}
