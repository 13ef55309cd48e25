package bench

import (
	"sort"
	"time"
)

// The noise floor of a latency measurement. On a shared virtual machine a
// call is sometimes interrupted (a timer tick, the hypervisor running
// another guest, a page the host has to back), and those interruptions add
// tens of microseconds to about 1% of calls whatever the call does: a p99
// of a few tens of microseconds says as much about the machine as about
// the code. timerNoise measures that floor on the spot: a loop that only
// touches registers, calibrated to the p50 of the code measured and timed
// the same way, so that a reader can tell the code's own tail (the p99
// above this one) from the machine's.

// noiseSink keeps the compiler from dropping noiseWork.
var noiseSink float64

// noiseWork runs n steps of a dependent floating-point recurrence: no
// memory, no calls, no allocation, a fixed time per step.
func noiseWork(n int) float64 {
	s := 0.0
	for i := 0; i < n; i++ {
		s = s*1.0000001 + 0.9999999
	}
	return s
}

// timerNoise returns the p50 and p99 in milliseconds of calls timed as
// cnn_predict1 times Predict (time.Now, time.Since), each of a register-only
// loop calibrated to take about p50ms.
func timerNoise(p50ms float64, calls int) (p50, p99 float64) {
	n := noiseCalibrate(p50ms)
	lat := make([]float64, calls)
	for i := range lat {
		t := time.Now()
		noiseSink += noiseWork(n)
		lat[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	sort.Float64s(lat)
	return lat[calls/2], lat[calls*99/100]
}

// noiseCalibrate returns the step count whose median time over a few
// calls is about ms milliseconds.
func noiseCalibrate(ms float64) int {
	const probe = 1 << 14
	lat := make([]float64, 21)
	for i := range lat {
		t := time.Now()
		noiseSink += noiseWork(probe)
		lat[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	sort.Float64s(lat)
	return max(1, int(ms/lat[len(lat)/2]*probe))
}
