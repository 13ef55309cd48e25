package bench

import "testing"

// TestTimerNoiseCalibrates checks that the noise floor's loop is
// calibrated to the p50 asked for (within a factor of two either way, on
// a machine that may be busy) and that its percentiles are ordered.
func TestTimerNoiseCalibrates(t *testing.T) {
	for _, ms := range []float64{0.01, 0.04} {
		p50, p99 := timerNoise(ms, 200)
		if p50 < ms/2 || p50 > 2*ms || p99 < p50 {
			t.Errorf("timerNoise(%g ms): p50 %g ms, p99 %g ms; want p50 within 2× of %g and p99 ≥ p50", ms, p50, p99, ms)
		}
	}
}
