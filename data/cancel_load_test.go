package data

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// Image-folder and text loading stop when their context is cancelled
// (checked per file), returning context.Canceled, and load normally
// otherwise.
func TestLoadingStopsWhenCancelled(t *testing.T) {
	dir := t.TempDir()
	imgs := filepath.Join(dir, "images")
	texts := filepath.Join(dir, "texts")
	os.MkdirAll(texts, 0o755)
	for i := range 20 {
		writePNG(t, filepath.Join(imgs, fmt.Sprint("c", i%2), fmt.Sprint(i, ".png")), solid(4, 4, color.NRGBA{uint8(i), 0, 0, 255}))
		os.WriteFile(filepath.Join(texts, fmt.Sprint(i, ".txt")), []byte("hello\n"), 0o644)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := LoadImageFolderContext(cancelled, imgs, ImageFolderOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("image folder, cancelled: %v, want context.Canceled", err)
	}
	if _, _, err := ReadTextContext(cancelled, texts, TextOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("text directory, cancelled: %v, want context.Canceled", err)
	}
	if d, _, err := LoadImageFolderContext(context.Background(), imgs, ImageFolderOptions{}); err != nil || d.Len() != 20 {
		t.Errorf("image folder: %v", err)
	}
	if _, info, err := ReadTextContext(context.Background(), texts, TextOptions{}); err != nil || info.Files != 20 {
		t.Errorf("text directory: %v, %d files", err, info.Files)
	}
}
