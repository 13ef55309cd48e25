package sysmem

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]uint64{"4G": 4 << 30, "512MiB": 512 << 20, "1e9": 1e9, "2048": 2048, "1.5 GB": 3 << 29, "64k": 64 << 10, "100B": 100} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1G", "0", "NaN", "G", "1e30T", "lots"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestCheck(t *testing.T) {
	l := Limit{Bytes: 1 << 30, Source: "ulimit -v"}
	if err := Check(l, "training", Need{"parameters", 100 << 20}, Need{"activations at batch 64", 200 << 20}); err != nil {
		t.Fatal(err)
	}
	err := Check(l, "training", Need{"parameters", 38 << 30}, Need{"optimizer state", 76 << 30})
	if err == nil || !strings.Contains(err.Error(), "114.0 GiB") || !strings.Contains(err.Error(), "optimizer state: 76.0 GiB") || !strings.Contains(err.Error(), "1.0 GiB this process may use (ulimit -v)") {
		t.Fatalf("got %v", err)
	}
	if err := Check(Limit{}, "x", Need{"y", 1 << 60}); err != nil {
		t.Errorf("unknown limit: %v", err)
	}
	if err := Check(l, "x", Need{"a", 1 << 63}, Need{"b", 1 << 63}); err == nil {
		t.Error("overflowing total accepted")
	}
	if got := l.WithMax(1 << 20); got.Bytes != 1<<20 || got.Source != "--max-memory" {
		t.Errorf("WithMax: %+v", got)
	}
	if got := l.WithMax(2 << 30); got.Bytes != 1<<30 {
		t.Errorf("WithMax raised the limit: %+v", got)
	}
}

func TestDetectAndThreads(t *testing.T) {
	l := Detect()
	if l.Bytes == 0 {
		t.Skip("no memory figure on this system")
	}
	if l.Source == "" {
		t.Error("limit without a source")
	}
	if MaxThreads(1<<30) != 8 || MaxThreads(1<<20) != 2 {
		t.Errorf("MaxThreads(1 GiB) = %d", MaxThreads(1<<30))
	}
}
