// Package sysmem finds out how much memory the process may use and sets the
// Go runtime up to stay inside it.
//
// The limit is the smallest of the machine's physical memory
// (/proc/meminfo's MemTotal), the control group's memory.max (cgroup v2,
// as containers and batch schedulers set) and the address-space limit
// (RLIMIT_AS, `ulimit -v`). Commands compare their estimated needs with it
// before allocating (see Check), so that a job too large for the machine is
// refused in one line instead of ending in the runtime's fatal out-of-memory
// error, which Go cannot turn into an error.
package sysmem

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Limit is what the process may use, in bytes, and where the figure comes
// from ("physical memory", "cgroup memory.max", "ulimit -v", or "--max-memory"
// when the user set it). Bytes is 0 when nothing is known.
type Limit struct {
	Bytes  uint64
	Source string
	// AddressSpace is the RLIMIT_AS limit, 0 when there is none. Address
	// space is used beyond the heap (the runtime's reservations, thread
	// stacks), so it constrains the thread count as well.
	AddressSpace uint64
}

// Detect returns the process's memory limit.
func Detect() Limit {
	var l Limit
	take := func(b uint64, src string) {
		if b > 0 && (l.Bytes == 0 || b < l.Bytes) {
			l.Bytes, l.Source = b, src
		}
	}
	take(memTotal(), "physical memory")
	take(cgroupMax(), "cgroup memory.max")
	l.AddressSpace = addressSpaceLimit()
	take(l.AddressSpace, "ulimit -v")
	return l
}

// WithMax returns l lowered to max bytes (a user's --max-memory) when max is
// positive and smaller.
func (l Limit) WithMax(max uint64) Limit {
	if max > 0 && (l.Bytes == 0 || max < l.Bytes) {
		l.Bytes, l.Source = max, "--max-memory"
	}
	return l
}

// Setup applies l to the Go runtime and returns what it did, for a debug
// line. Unless GOMEMLIMIT is set, it sets the runtime's soft memory limit
// (debug.SetMemoryLimit) to 3/4 of a physical or cgroup limit, so that the
// garbage collector works harder before the heap reaches it. Not for an
// address-space limit: the runtime reserves several hundred MB of address
// space for its own tables at start, so under `ulimit -v 1048576` about
// 300 MB remain for the heap whatever the soft limit says, and a soft limit
// made runs there fail more often, not less. Under an address-space limit it
// also caps GOMAXPROCS (and so the kernels' worker pool) at one thread per
// 128 MiB of it, at least 2, unless GOMAXPROCS is set: each running thread
// adds the runtime's per-P caches and the kernels' scratch, and with dozens
// of them a 1 GiB `ulimit -v` ran out for an MLP that needs 250 MB.
func Setup(l Limit) string {
	var did []string
	if l.Bytes > 0 && l.Source != "ulimit -v" && os.Getenv("GOMEMLIMIT") == "" {
		soft := l.Bytes / 4 * 3
		debug.SetMemoryLimit(int64(min(soft, 1<<62)))
		did = append(did, fmt.Sprintf("memory limit %s (3/4 of %s, %s)", Format(soft), Format(l.Bytes), l.Source))
	}
	if l.AddressSpace > 0 && os.Getenv("GOMAXPROCS") == "" {
		if p := MaxThreads(l.AddressSpace); p < runtime.GOMAXPROCS(0) {
			runtime.GOMAXPROCS(p)
			did = append(did, fmt.Sprintf("GOMAXPROCS %d (ulimit -v %s)", p, Format(l.AddressSpace)))
		}
	}
	return strings.Join(did, ", ")
}

// MaxThreads is the thread count Setup allows under an address-space limit
// of as bytes: one per 128 MiB, at least 2.
func MaxThreads(as uint64) int { return int(max(2, min(as/(128<<20), 1<<16))) }

// Format writes n bytes with a binary unit: "512 B", "1.5 GiB".
func Format(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Parse reads a size such as "4GiB", "512M", "1e9" or "2048" (bytes).
// Units K, M, G, T with or without "iB"/"B" are powers of 1024.
func Parse(s string) (uint64, error) {
	t, mult := strings.TrimSpace(s), uint64(1)
	upper := strings.ToUpper(t)
	units := []struct {
		suffix string
		mult   uint64
	}{{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"", 1}}
	found := false
	for _, u := range units {
		for _, suf := range []string{u.suffix + "IB", u.suffix + "B", u.suffix} {
			if suf != "" && !found && strings.HasSuffix(upper, suf) {
				t, mult, found = strings.TrimSpace(t[:len(t)-len(suf)]), u.mult, true
			}
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v > 0) || v*float64(mult) >= 1<<63 {
		return 0, fmt.Errorf("bad size %q (want a positive number of bytes, optionally with K, M, G or T: 4G, 512MiB)", s)
	}
	return uint64(v * float64(mult)), nil
}

// Need is one part of a job's estimated memory, for the refusal message.
type Need struct {
	What  string // "parameters", "activations at batch 64", ...
	Bytes uint64
}

// Check returns an error when the needs add up to more than l allows: one
// line with the total, the largest part and the limit with its source, so
// the user sees what to shrink. It returns nil when l is unknown.
func Check(l Limit, what string, needs ...Need) error {
	var total uint64
	big := Need{}
	for _, n := range needs {
		total += n.Bytes
		if total < n.Bytes {
			total = 1<<64 - 1
		}
		if n.Bytes >= big.Bytes {
			big = n
		}
	}
	if l.Bytes == 0 || total <= l.Bytes {
		return nil
	}
	return fmt.Errorf("%s needs about %s (%s: %s), more than the %s this process may use (%s); make it smaller, or raise --max-memory if the estimate is wrong",
		what, Format(total), big.What, Format(big.Bytes), Format(l.Bytes), l.Source)
}

// memTotal reads MemTotal from /proc/meminfo (0 when unavailable).
func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			fs := strings.Fields(rest)
			if len(fs) >= 1 {
				kb, err := strconv.ParseUint(fs[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// cgroupMax reads the cgroup v2 memory limit (0 when none).
func cgroupMax() uint64 {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil { // "max"
		return 0
	}
	return v
}

type ctxKey struct{}

// WithLimit returns ctx carrying l, for the code that checks a job's needs.
func WithLimit(ctx context.Context, l Limit) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the limit ctx carries, or Detect() when it carries
// none.
func FromContext(ctx context.Context) Limit {
	if l, ok := ctx.Value(ctxKey{}).(Limit); ok {
		return l
	}
	return Detect()
}
