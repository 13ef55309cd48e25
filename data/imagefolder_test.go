package data

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func solid(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func TestLoadImageFolder(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "b_dog", "1.png"), solid(4, 4, color.NRGBA{255, 0, 0, 255}))
	gray := image.NewGray(image.Rect(0, 0, 2, 2))
	gray.Pix = []uint8{0, 255, 255, 0}
	writePNG(t, filepath.Join(dir, "a_cat", "x.PNG"), gray)
	writePNG(t, filepath.Join(dir, "a_cat", "sub", "y.png"), solid(4, 4, color.NRGBA{0, 0, 255, 128}))
	f, _ := os.Create(filepath.Join(dir, "b_dog", "2.jpg"))
	jpeg.Encode(f, solid(8, 8, color.NRGBA{0, 255, 0, 255}), &jpeg.Options{Quality: 100})
	f.Close()
	os.WriteFile(filepath.Join(dir, "b_dog", "notes.txt"), []byte("skip me"), 0o644)
	os.WriteFile(filepath.Join(dir, "b_dog", ".hidden.png"), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(dir, "top.png"), []byte("junk"), 0o644)

	d, classes, err := LoadImageFolder(dir, ImageFolderOptions{Height: 4, Width: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(classes, []string{"a_cat", "b_dog"}) {
		t.Errorf("classes %v", classes)
	}
	if !slices.Equal(d.X.Shape(), []int{4, 4, 4, 3}) || !slices.Equal(d.Y.Data(), []float32{0, 0, 1, 1}) {
		t.Fatalf("X %v Y %v", d.X.Shape(), d.Y.Data())
	}
	px := func(i, y, x int) []float32 { o := ((i*4+y)*4 + x) * 3; return d.X.Data()[o : o+3] }
	// a_cat/sub/y.png sorts before a_cat/x.PNG; alpha is dropped.
	if p := px(0, 0, 0); p[0] != 0 || p[2] != 1 {
		t.Errorf("blue pixel %v", p)
	}
	// The 2×2 gray image upsampled: corners keep their values.
	if p := px(1, 0, 0); p[0] != 0 || p[1] != 0 {
		t.Errorf("gray top-left %v", p)
	}
	if p := px(1, 0, 3); p[0] != 1 || p[2] != 1 {
		t.Errorf("gray top-right %v", p)
	}
	if p := px(2, 2, 2); !slices.Equal(p, []float32{1, 0, 0}) {
		t.Errorf("red pixel %v", p)
	}
	if p := px(3, 1, 1); math.Abs(float64(p[1])-1) > 0.02 || p[0] > 0.02 {
		t.Errorf("JPEG green pixel %v", p)
	}

	g, _, err := LoadImageFolder(dir, ImageFolderOptions{Grayscale: true, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	// Default size: the first image's (a_cat/sub/y.png, 4×4).
	if !slices.Equal(g.X.Shape(), []int{4, 4, 4, 1}) {
		t.Fatalf("grayscale X %v", g.X.Shape())
	}
	if v := g.X.Data()[2*16]; math.Abs(float64(v)-0.299*255) > 1e-3 {
		t.Errorf("luma of red = %v, want %v", v, 0.299*255)
	}
}

func TestResizeBilinear(t *testing.T) {
	// Downsampling 4 → 2 with half-pixel centres averages pairs.
	src := []float32{0, 2, 4, 6}
	dst := make([]float32, 2)
	resizeBilinear(dst, src, 1, 4, 1, 2, 1)
	if !slices.Equal(dst, []float32{1, 5}) {
		t.Errorf("4→2: %v", dst)
	}
	// Upsampling 2 → 4: [0, 10] becomes [0, 2.5, 7.5, 10].
	dst = make([]float32, 4)
	resizeBilinear(dst, []float32{0, 10}, 1, 2, 1, 4, 1)
	if !slices.Equal(dst, []float32{0, 2.5, 7.5, 10}) {
		t.Errorf("2→4: %v", dst)
	}
}

func TestLoadImageFolderErrors(t *testing.T) {
	t.Run("unreadable", func(t *testing.T) {
		dir := t.TempDir()
		writePNG(t, filepath.Join(dir, "a", "ok.png"), solid(2, 2, color.NRGBA{1, 2, 3, 255}))
		bad := filepath.Join(dir, "b", "broken.png")
		os.MkdirAll(filepath.Dir(bad), 0o755)
		os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
		_, _, err := LoadImageFolder(dir, ImageFolderOptions{})
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("error %v does not name %s", err, bad)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "a", "t.png")
		writePNG(t, p, solid(16, 16, color.NRGBA{1, 2, 3, 255}))
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)-20], 0o644)
		_, _, err := LoadImageFolder(dir, ImageFolderOptions{})
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("error %v does not name %s", err, p)
		}
	})
	t.Run("no classes", func(t *testing.T) {
		_, _, err := LoadImageFolder(t.TempDir(), ImageFolderOptions{})
		if err == nil || !strings.Contains(err.Error(), "no class sub-directories") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("no images", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "a"), 0o755)
		_, _, err := LoadImageFolder(dir, ImageFolderOptions{})
		if err == nil || !strings.Contains(err.Error(), "no .png or .jpg files") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		if _, _, err := LoadImageFolder(filepath.Join(t.TempDir(), "nope"), ImageFolderOptions{}); err == nil {
			t.Error("missing directory accepted")
		}
	})
}
