package data

import (
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadImage(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.png")
	writePNG(t, p, solid(6, 4, color.NRGBA{255, 0, 0, 255}))
	x, err := LoadImage(p, ImageFolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Shape(), []int{4, 6, 3}) || !slices.Equal(x.Data()[:3], []float32{1, 0, 0}) {
		t.Errorf("image %v %v", x.Shape(), x.Data()[:3])
	}
	g, err := LoadImage(p, ImageFolderOptions{Height: 2, Width: 3, Grayscale: true, Raw: true})
	if err != nil || !slices.Equal(g.Shape(), []int{2, 3, 1}) {
		t.Fatalf("resized %v %v", g, err)
	}
	os.WriteFile(p, []byte("junk"), 0o644)
	if _, err := LoadImage(p, ImageFolderOptions{}); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("error %v does not name %s", err, p)
	}
}
