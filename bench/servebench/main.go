// Command servebench drives inference servers with concurrent clients
// sending single MNIST images to the seed's CNN (Open Inference Protocol
// v2 JSON), and measures Strata's in-process batched Predict as the
// ceiling. It is bounded in requests and time, and only talks to the
// URLs it is given (use loopback ones). bench/serve_compare.sh runs it
// against strata serve and the PyTorch baseline, bench/serve_torch.py.
//
// The load generator is meant to steal little CPU from the server it
// shares a machine with: every request (headers and JSON body, the same
// bytes for every server) is encoded once before the run, and each
// client writes it in one system call on its own keep-alive connection
// and reads the answer by its Content-Length (about 0.03 ms of CPU per
// request, against 0.09 ms through net/http's client).
//
//	go run ./bench/servebench -write-model /tmp/cnn.safetensors
//	go run ./bench/servebench -inprocess 64 -target strata=http://127.0.0.1:18080/v2/models/cnn/infer -clients 1,8,64
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

type targets []string

func (t *targets) String() string     { return strings.Join(*t, ",") }
func (t *targets) Set(v string) error { *t = append(*t, v); return nil }

func main() {
	var tg targets
	flag.Var(&tg, "target", "LABEL=URL of an infer endpoint, or LABEL=URL@PID to also report the server process's CPU time per image (repeatable)")
	clients := flag.String("clients", "1,8,64", "concurrent clients, comma-separated levels")
	requests := flag.Int("requests", 4000, "requests per level (after 200 warm-up requests)")
	duration := flag.Duration("duration", 20*time.Second, "time limit per level")
	inprocess := flag.String("inprocess", "", "also measure in-process Predict at these batch sizes (comma-separated; 64 is the ceiling the issue names)")
	writeModel := flag.String("write-model", "", "write the seed CNN (seeded weights) as a model file and exit")
	median := flag.Bool("median", false, "read the tables of earlier runs (files named as arguments) and print the median of each row, and exit")
	flag.Parse()
	if *median {
		if err := medians(os.Stdout, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "servebench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(tg, *clients, *requests, *duration, *inprocess, *writeModel); err != nil {
		fmt.Fprintln(os.Stderr, "servebench:", err)
		os.Exit(1)
	}
}

func run(tg targets, clients string, requests int, duration time.Duration, inprocess string, writeModel string) error {
	net := zoo.NewCNNNet(10)
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 2))); err != nil {
		return err
	}
	if writeModel != "" {
		classes := make([]string, 10)
		for i := range classes {
			classes[i] = strconv.Itoa(i)
		}
		return modelfile.Save(writeModel, net, modelfile.Meta{Family: "cnn", InputShape: []int{28, 28, 1}, Classes: classes, Preprocessing: "x/255"})
	}
	images := mnistImages(256)
	fmt.Println("| system | clients | requests | images/s | p50 ms | p99 ms | p99/p50 | server CPU ms/image | client CPU ms/request | errors |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, f := range strings.FieldsFunc(inprocess, func(r rune) bool { return r == ',' }) {
		batch, err := strconv.Atoi(f)
		if err != nil || batch < 1 || batch > len(images) {
			return fmt.Errorf("-inprocess %q: want batch sizes from 1 to %d", inprocess, len(images))
		}
		rate, cpu, err := predictRate(net, images[:batch], duration)
		if err != nil {
			return err
		}
		fmt.Printf("| strata in-process Predict, batch %d | – | – | %.0f | – | – | – | %.3f | – | – |\n", batch, rate, cpu)
	}
	bodies := make([][]byte, len(images))
	for i, img := range images {
		bodies[i], _ = json.Marshal(map[string]any{"inputs": []map[string]any{{
			"name": "input", "shape": []int{1, 28, 28, 1}, "datatype": "FP32", "data": img}}})
	}
	for _, t := range tg {
		label, url, ok := strings.Cut(t, "=")
		if !ok {
			return fmt.Errorf("-target %q: want LABEL=URL", t)
		}
		pid := 0
		if u, p, ok := strings.Cut(url, "@"); ok {
			url = u
			if pid, _ = strconv.Atoi(p); pid <= 0 {
				return fmt.Errorf("-target %q: bad process id %q", t, p)
			}
		}
		for _, f := range strings.Split(clients, ",") {
			c, err := strconv.Atoi(f)
			if err != nil || c < 1 {
				return fmt.Errorf("-clients %q: want positive integers", clients)
			}
			r, err := load(url, bodies, c, requests, duration, pid)
			if err != nil {
				return err
			}
			cpu := "–"
			if r.cpu > 0 {
				cpu = fmt.Sprintf("%.3f", r.cpu*1000/float64(r.n))
			}
			fmt.Printf("| %s | %d | %d | %.0f | %.2f | %.2f | %.1f | %s | %.3f | %d |\n", label, c, r.n, r.rate, r.p50, r.p99, r.p99/r.p50, cpu, r.clientCPU*1000/float64(r.n), r.errors)
		}
	}
	return nil
}

// mnistImages returns n MNIST test images (pixels in [0, 1]), or random
// ones when MNIST is not at hand.
func mnistImages(n int) [][]float32 {
	out := make([][]float32, n)
	_, test, err := data.MNIST()
	var x *tensor.Tensor
	if err == nil {
		x = test.X
	} else {
		fmt.Fprintln(os.Stderr, "servebench: no MNIST, random images:", err)
		x = tensor.RandUniform(rand.New(rand.NewPCG(5, 6)), 0, 1, n, 28, 28, 1)
	}
	for i := range out {
		out[i] = slices.Clone(x.Slice(i, i+1).Data())
	}
	return out
}

// predictRate is images/s of Predict over batches of len(images), and the
// CPU milliseconds per image.
func predictRate(net nn.Layer, images [][]float32, limit time.Duration) (float64, float64, error) {
	var flat []float32
	for _, img := range images {
		flat = append(flat, img...)
	}
	batch := len(images)
	x := tensor.New([]int{batch, 28, 28, 1}, flat)
	p := &train.Predictor{Net: net}
	ctx := context.Background()
	for range 5 {
		if _, err := p.Predict(ctx, x, batch); err != nil {
			return 0, 0, err
		}
	}
	start, n, cpu0 := time.Now(), 0, selfCPU()
	for time.Since(start) < min(limit, 5*time.Second) {
		if _, err := p.Predict(ctx, x, batch); err != nil {
			return 0, 0, err
		}
		n += batch
	}
	return float64(n) / time.Since(start).Seconds(), (selfCPU() - cpu0) * 1000 / float64(n), nil
}

// selfCPU is this process's user + system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// procCPU is a process's user + system CPU seconds from /proc (0 where
// it cannot be read).
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, after, _ := strings.Cut(string(b), ") ") // the command name may hold spaces
	f := strings.Fields(after)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // clock ticks: USER_HZ is 100 on Linux
}

type loadResult struct {
	n, errors           int
	rate, p50, p99, cpu float64 // cpu: the server's CPU seconds during the run
	clientCPU           float64 // this process's CPU seconds during the run
}

// encodeRequests pre-encodes one HTTP/1.1 request (headers and body, one write)
// per body, for the infer endpoint at url.
func encodeRequests(url string, bodies [][]byte) (addr string, reqs [][]byte, err error) {
	rest, ok := strings.CutPrefix(url, "http://")
	if !ok {
		return "", nil, fmt.Errorf("%s: want an http:// URL", url)
	}
	addr, path, _ := strings.Cut(rest, "/")
	for _, b := range bodies {
		h := fmt.Sprintf("POST /%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, addr, len(b))
		reqs = append(reqs, append([]byte(h), b...))
	}
	return addr, reqs, nil
}

// conn is one client's keep-alive connection: a request is one write of
// pre-encoded bytes, an answer is read to its Content-Length and
// discarded. It costs the load generator a fraction of net/http's client
// CPU, which matters where it shares the server's cores.
type conn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
}

// do sends req and reads the answer; it reports whether the status was
// 200. On any error the connection is dropped (the next call redials).
func (k *conn) do(req []byte) (ok bool, err error) {
	if k.c == nil {
		if k.c, err = net.Dial("tcp", k.addr); err != nil {
			return false, err
		}
		k.r = bufio.NewReaderSize(k.c, 16<<10)
	}
	defer func() {
		if err != nil {
			k.c.Close()
			k.c = nil
		}
	}()
	if _, err = k.c.Write(req); err != nil {
		return false, err
	}
	line, err := k.r.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	ok = len(line) >= 12 && string(line[9:12]) == "200"
	length, closing := -1, false
	for {
		h, err := k.r.ReadSlice('\n')
		if err != nil {
			return false, err
		}
		if len(h) <= 2 {
			break
		}
		name, val, _ := bytes.Cut(bytes.TrimSpace(h), []byte(":"))
		val = bytes.TrimSpace(val)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(val)); err != nil {
				return false, fmt.Errorf("Content-Length %q", val)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(val, []byte("close"))
		}
	}
	if length < 0 {
		return false, errors.New("an answer without Content-Length")
	}
	if _, err = k.r.Discard(length); err != nil {
		return false, err
	}
	if closing {
		k.c.Close()
		k.c = nil
	}
	return ok, nil
}

// load sends reqs round-robin from c clients, each on its own keep-alive
// connection, until n requests are done or the time limit passes; the
// first 200 answers are a warm-up.
func load(url string, bodies [][]byte, c, n int, limit time.Duration, pid int) (loadResult, error) {
	addr, reqs, err := encodeRequests(url, bodies)
	if err != nil {
		return loadResult{}, err
	}
	conns := make([]*conn, c)
	for k := range conns {
		conns[k] = &conn{addr: addr}
	}
	defer func() {
		for _, k := range conns {
			if k.c != nil {
				k.c.Close()
			}
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := range c { // warm-up
		wg.Go(func() {
			for next.Add(1) <= 200 {
				conns[k].do(reqs[0])
			}
		})
	}
	wg.Wait()
	next.Store(0)
	lats := make([][]time.Duration, c)
	for k := range lats {
		lats[k] = make([]time.Duration, 0, n/c+1)
	}
	var errs atomic.Int64
	deadline := time.Now().Add(limit)
	start, cpu0, self0 := time.Now(), procCPU(pid), selfCPU()
	for k := range c {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) || time.Now().After(deadline) {
					return
				}
				t := time.Now()
				ok, err := conns[k].do(reqs[int(i)%len(reqs)])
				if !ok || err != nil {
					errs.Add(1)
					continue
				}
				lats[k] = append(lats[k], time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	clientCPU := selfCPU() - self0
	var cpu float64
	if pid > 0 {
		cpu = procCPU(pid) - cpu0
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := loadResult{n: len(all), errors: int(errs.Load()), cpu: cpu, clientCPU: clientCPU}
	if len(all) == 0 {
		return r, nil
	}
	r.rate = float64(len(all)) / elapsed.Seconds()
	r.p50 = float64(all[len(all)/2]) / 1e6
	r.p99 = float64(all[len(all)*99/100]) / 1e6
	return r, nil
}

// medians prints, for each row of the tables in files (keyed by system
// and clients, in first-seen order), the median of every numeric column.
func medians(w io.Writer, files []string) error {
	var keys []string
	rows := map[string][][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(line, "| ") {
				continue
			}
			cells := strings.Split(strings.Trim(line, "| "), " | ")
			if cells[0] == "system" || strings.HasPrefix(cells[0], "---") {
				// a header row
				continue
			}
			if len(cells) < 2 {
				continue
			}
			k := cells[0] + "|" + cells[1]
			if _, ok := rows[k]; !ok {
				keys = append(keys, k)
			}
			rows[k] = append(rows[k], cells)
		}
	}
	if len(keys) == 0 {
		return errors.New("no table rows in the files")
	}
	fmt.Fprintln(w, "| system | clients | requests | images/s | p50 ms | p99 ms | p99/p50 | server CPU ms/image | client CPU ms/request | errors |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, k := range keys {
		rs := rows[k]
		out := slices.Clone(rs[0])
		for c := 2; c < len(out); c++ {
			var vs []float64
			for _, r := range rs {
				if c < len(r) {
					if v, err := strconv.ParseFloat(r[c], 64); err == nil {
						vs = append(vs, v)
					}
				}
			}
			if len(vs) == 0 {
				continue
			}
			slices.Sort(vs)
			m := vs[len(vs)/2]
			if len(vs)%2 == 0 {
				m = (vs[len(vs)/2-1] + m) / 2
			}
			switch {
			case c == 3 || c == 2 || c == 9:
				out[c] = fmt.Sprintf("%.0f", m)
			case c == 6:
				out[c] = fmt.Sprintf("%.1f", m)
			case c >= 7:
				out[c] = fmt.Sprintf("%.3f", m)
			default:
				out[c] = fmt.Sprintf("%.2f", m)
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(out, " | "))
	}
	return nil
}
