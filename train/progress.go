package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws Keras's progress bar:
//
//	Epoch 3/10
//	1875/1875 [==============================] - 4s 2ms/step - loss: 0.0512 - accuracy: 0.9843
//
// On a terminal the bar is redrawn in place (at most ~10 times a second);
// otherwise the header and one line are printed per epoch. Verbose 2
// prints one line per epoch:
//
//	Epoch 3/10 - 4s 2ms/step - loss: 0.0512 - accuracy: 0.9843
type progress struct {
	w        io.Writer
	tty      bool
	verbose  int
	epochs   int
	total    int // batches per epoch, -1 if unknown
	start    time.Time
	epoch    int
	first    int
	lastDraw time.Time
}

func newProgress(w io.Writer, verbose, epochs, total int) *progress {
	return &progress{w: w, tty: isTerminal(w), verbose: verbose, epochs: epochs, total: total}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) startEpoch(epoch, first int) {
	p.start, p.epoch, p.first, p.lastDraw = time.Now(), epoch, first, time.Time{}
	if p.verbose != 2 {
		fmt.Fprintf(p.w, "Epoch %d/%d\n", epoch, p.epochs)
	}
}

func (p *progress) bar(done int) string {
	if p.total <= 0 {
		return fmt.Sprintf("%d", done)
	}
	const width = 30
	filled := width * done / p.total
	b := strings.Repeat("=", filled)
	if filled < width {
		b += ">" + strings.Repeat(".", width-filled-1)
	}
	n := len(fmt.Sprint(p.total))
	return fmt.Sprintf("%*d/%d [%s]", n, done, p.total, b)
}

func (p *progress) update(done int, logs Logs) {
	if !p.tty || p.verbose != 1 {
		return
	}
	now := time.Now()
	if now.Sub(p.lastDraw) < 100*time.Millisecond && done != p.total {
		return
	}
	p.lastDraw = now
	el := now.Sub(p.start)
	steps := done - p.first
	eta := ""
	if p.total > 0 && steps > 0 {
		rem := time.Duration(float64(el) / float64(steps) * float64(p.total-done))
		eta = " - ETA: " + fmtDuration(rem)
	}
	fmt.Fprintf(p.w, "\r%s%s - %s\x1b[K", p.bar(done), eta, logs)
}

func (p *progress) endEpoch(logs Logs, el time.Duration) {
	steps := max(p.total-p.first, 1)
	per := el / time.Duration(steps)
	if p.verbose == 2 {
		fmt.Fprintf(p.w, "Epoch %d/%d - %s %s/step - %s\n", p.epoch, p.epochs, fmtDuration(el), fmtStep(per), logs)
		return
	}
	line := fmt.Sprintf("%s - %s %s/step - %s", p.bar(p.total), fmtDuration(el), fmtStep(per), logs)
	if p.tty && p.verbose == 1 {
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

func fmtDuration(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 60:
		return fmt.Sprintf("%.0fs", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, (int(s)%3600)/60)
}

func fmtStep(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%dus", d.Microseconds())
}
