package kernels

import (
	"testing"
	"time"
)

func TestFMAPeak(t *testing.T) {
	g, isa := FMAPeak(1, 20*time.Millisecond)
	t.Logf("one thread: %.1f GFLOP/s (%s)", g, isa)
	if isa != "generic" && g <= 1 {
		t.Errorf("FMAPeak = %.3f GFLOP/s on %s, want a positive rate", g, isa)
	}
	if ISA() != isa {
		t.Errorf("ISA() = %q, FMAPeak used %q", ISA(), isa)
	}
}
