// Command servebench drives inference servers with concurrent clients
// sending single MNIST images to the seed's CNN (Open Inference Protocol
// v2 JSON), and measures Strata's in-process batched Predict as the
// ceiling. It is bounded in requests and time, and only talks to the
// URLs it is given (use loopback ones). bench/serve_compare.sh runs it
// against strata serve and the PyTorch baseline, bench/serve_torch.py.
//
//	go run ./bench/servebench -write-model /tmp/cnn.safetensors
//	go run ./bench/servebench -inprocess 64 -target strata=http://127.0.0.1:18080/v2/models/cnn/infer -clients 1,8,64
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
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
	flag.Parse()
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
			r := load(url, bodies, c, requests, duration, pid)
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

// load sends bodies round-robin from c clients until requests are done or
// the time limit passes; the first 200 answers are a warm-up.
func load(url string, bodies [][]byte, c, requests int, limit time.Duration, pid int) loadResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}, Timeout: 30 * time.Second}
	send := func(i int) (time.Duration, bool) {
		t := time.Now()
		resp, err := client.Post(url, "application/json", bytes.NewReader(bodies[i%len(bodies)]))
		if err != nil {
			return 0, false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(t), resp.StatusCode == 200
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c { // warm-up
		wg.Go(func() {
			for next.Add(1) <= 200 {
				send(0)
			}
		})
	}
	wg.Wait()
	next.Store(0)
	lats := make([][]time.Duration, c)
	var errs atomic.Int64
	deadline := time.Now().Add(limit)
	start, cpu0, self0 := time.Now(), procCPU(pid), selfCPU()
	for k := range c {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(requests) || time.Now().After(deadline) {
					return
				}
				d, ok := send(int(i))
				if !ok {
					errs.Add(1)
					continue
				}
				lats[k] = append(lats[k], d)
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
		return r
	}
	r.rate = float64(len(all)) / elapsed.Seconds()
	r.p50 = float64(all[len(all)/2]) / 1e6
	r.p99 = float64(all[len(all)*99/100]) / 1e6
	return r
}
