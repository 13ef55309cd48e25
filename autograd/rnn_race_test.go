//go:build race

package autograd

// rnnRace reports a race-detector build, whose sync.Pool drops items at
// random: allocation counts mean nothing there.
const rnnRace = true
