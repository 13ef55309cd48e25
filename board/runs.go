package board

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Files of a run directory.
const (
	configFile  = "config.json"
	metricsFile = "metrics.jsonl"
	resultsFile = "results.json"
	summaryFile = "summary.txt"
)

// runCache holds what the server has read of one run, so that a poll reads
// only the bytes appended since the last one.
type runCache struct {
	mu      sync.Mutex
	metrics metricsLog
	config  jsonFile
	results jsonFile
}

// metricsLog indexes the read prefix of a metrics.jsonl file. It keeps where
// each line is, not the lines: a 150 MB log costs its line count × 12 bytes
// here, and scalars reads the lines a request asks for from the file.
type metricsLog struct {
	file      fs.FileInfo     // the file at the last read, to notice a replaced file
	offset    int64           // bytes consumed: the end of the last complete line
	size      int64           // size at the last read
	modified  time.Time       // modification time at the last read
	starts    []int64         // file offset of each complete line that is a JSON object
	lens      []int32         // its length in bytes (at most maxLineBytes)
	lastEpoch json.RawMessage // the last line with an "epoch" field, or nil
	lastLine  json.RawMessage // the last line, or nil
	skipped   int             // malformed or overlong lines
	pending   json.RawMessage // a whole JSON object after the last newline, if any
	err       string          // why the file could not be read, when it exists
}

// jsonFile is a small JSON file read again only when its size or time change.
type jsonFile struct {
	size     int64
	modified time.Time
	read     bool
	value    json.RawMessage // nil when absent or not valid JSON
}

// validRunName reports whether name can be a run: one path element, not
// hidden, not "." or "..".
func validRunName(name string) bool {
	return name != "" && len(name) <= 255 && !strings.HasPrefix(name, ".") &&
		!strings.ContainsAny(name, "/\\\x00")
}

// isRun reports whether the directory name under the log directory holds a
// run file. It goes through the root, so a link out of the log directory is
// not a run.
func (s *Server) isRun(name string) bool {
	_, ok := s.runModified(name)
	return ok
}

// runModified reports whether name is a run (see isRun) and the latest
// modification time of its run files.
func (s *Server) runModified(name string) (time.Time, bool) {
	if !validRunName(name) {
		return time.Time{}, false
	}
	fi, err := s.root.Stat(name)
	if err != nil || !fi.IsDir() {
		return time.Time{}, false
	}
	var latest time.Time
	ok := false
	for _, f := range []string{metricsFile, configFile, resultsFile, summaryFile} {
		if fi, err := s.root.Stat(name + "/" + f); err == nil && fi.Mode().IsRegular() {
			ok = true
			if fi.ModTime().After(latest) {
				latest = fi.ModTime()
			}
		}
	}
	return latest, ok
}

// runEntry is a run of the log directory with the time it last changed.
type runEntry struct {
	name     string
	modified time.Time
}

// runNames lists every run, newest first (by the latest change of its run
// files; ties by name), so that a page of the list shows the recent runs.
func (s *Server) runNames() ([]runEntry, error) {
	f, err := s.root.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var runs []runEntry
	for _, e := range entries {
		if !e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		if t, ok := s.runModified(e.Name()); ok {
			runs = append(runs, runEntry{e.Name(), t})
		}
	}
	slices.SortFunc(runs, func(a, b runEntry) int {
		if c := b.modified.Compare(a.modified); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return runs, nil
}

// runID is the name under which the page knows a run and puts it in URLs:
// the directory name itself when it is UTF-8 without control characters
// (and does not start with "~"), else "~" and the name's bytes in hex, so
// that a name that JSON or a URL cannot carry intact still reaches its run.
func runID(name string) string {
	if utf8.ValidString(name) && !strings.HasPrefix(name, "~") && !strings.ContainsFunc(name, unicode.IsControl) {
		return name
	}
	return "~" + hex.EncodeToString([]byte(name))
}

// runName undoes runID.
func runName(id string) (string, bool) {
	if rest, ok := strings.CutPrefix(id, "~"); ok {
		b, err := hex.DecodeString(rest)
		return string(b), err == nil
	}
	return id, true
}

// displayName is a run's name as the page shows it: invalid UTF-8 as U+FFFD
// and control characters as Go escapes ("\t").
func displayName(name string) string {
	var b strings.Builder
	for len(name) > 0 {
		r, size := utf8.DecodeRuneInString(name)
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(name[:size])
		}
		name = name[size:]
	}
	return b.String()
}

// cache returns the cache of the run, creating it.
func (s *Server) cache(name string) *runCache {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.runs[name]
	if c == nil {
		c = &runCache{}
		s.runs[name] = c
	}
	return c
}

// forget drops the caches of runs that are gone.
func (s *Server) forget(keep []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.runs {
		if _, ok := slices.BinarySearch(keep, name); !ok {
			delete(s.runs, name)
		}
	}
}

// statRegular returns the file info of a regular file of the run, or an error.
func (s *Server) statRegular(name string) (fs.FileInfo, error) {
	fi, err := s.root.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errNotRegular
	}
	return fi, nil
}

var errNotRegular = errors.New("not a regular file")

// openRegular opens a regular file below the log directory. It refuses
// anything else (directories, devices, pipes, sockets) before opening, so that
// opening cannot block, and checks again on the open file.
func (s *Server) openRegular(name string) (*os.File, fs.FileInfo, error) {
	if _, err := s.statRegular(name); err != nil {
		return nil, nil, err
	}
	f, err := s.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errNotRegular
		}
		return nil, nil, err
	}
	return f, fi, nil
}

// readSmall reads a whole regular file of at most limit bytes.
func (s *Server) readSmall(name string, limit int64) ([]byte, fs.FileInfo, error) {
	f, fi, err := s.openRegular(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, fi, errors.New("file too large")
	}
	b, err := io.ReadAll(io.LimitReader(f, limit))
	return b, fi, err
}

// refreshJSON brings the cached JSON file up to date. A file that is absent,
// too large or not valid JSON has a nil value.
func (s *Server) refreshJSON(j *jsonFile, name string) {
	fi, err := s.statRegular(name)
	if err != nil {
		*j = jsonFile{read: true}
		return
	}
	if j.read && fi.Size() == j.size && fi.ModTime().Equal(j.modified) {
		return
	}
	*j = jsonFile{read: true, size: fi.Size(), modified: fi.ModTime()}
	b, _, err := s.readSmall(name, maxJSONFile)
	if err != nil {
		return
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) == nil {
		j.value = buf.Bytes()
	}
}

// refreshMetrics reads the lines appended to the metrics file since the last
// call. A file that shrank was rewritten and is read again from the start.
func (s *Server) refreshMetrics(m *metricsLog, name string) {
	f, fi, err := s.openRegular(name)
	if err != nil {
		*m = metricsLog{}
		if !errors.Is(err, fs.ErrNotExist) {
			m.err = "metrics.jsonl: " + errText(err)
		}
		return
	}
	defer f.Close()
	if fi.Size() < m.offset || (m.file != nil && !os.SameFile(m.file, fi)) {
		*m = metricsLog{} // truncated or replaced: read it again
	}
	m.file = fi
	if fi.Size() == m.size && fi.ModTime().Equal(m.modified) {
		return
	}
	if _, err := f.Seek(m.offset, io.SeekStart); err != nil {
		return
	}
	m.pending = nil
	// Read no further than the size seen: what is written meanwhile is read
	// by the next poll, whose stat sees it.
	r := bufio.NewReaderSize(io.LimitReader(f, fi.Size()-m.offset), 64<<10)
	var line []byte // the current line, unless it is overlong
	var n int64     // bytes of the current line read so far
	overlong := false
	for {
		chunk, err := r.ReadSlice('\n')
		n += int64(len(chunk))
		if !overlong {
			if len(line)+len(chunk) > maxLineBytes {
				overlong, line = true, line[:0]
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			// The tail has no newline yet: a line being written, or a
			// last line that lacks its newline. Show it only if it is
			// a whole JSON object; keep the offset before it.
			if !overlong {
				if obj, ok := parseLine(line); ok {
					m.pending = obj
				}
			}
			m.size, m.modified = fi.Size(), fi.ModTime()
			return
		}
		if err != nil {
			return // read again from the offset next time
		}
		start := m.offset
		m.offset += n
		if overlong {
			m.skipped++
		} else {
			m.addLine(line, start)
		}
		line, n, overlong = line[:0], 0, false
	}
}

// addLine indexes one complete line that starts at byte start; blank lines
// are ignored, malformed ones counted.
func (m *metricsLog) addLine(line []byte, start int64) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	obj, ok := parseLine(line)
	if !ok {
		m.skipped++
		return
	}
	if hasEpoch(obj) {
		m.lastEpoch = obj
	}
	m.lastLine = obj
	m.starts = append(m.starts, start)
	m.lens = append(m.lens, int32(len(line)))
}

// parseLine returns the line as compact JSON if it is one JSON object.
func parseLine(line []byte) (json.RawMessage, bool) {
	line = bytes.TrimSpace(line)
	if len(line) < 2 || line[0] != '{' {
		return nil, false
	}
	// Compact accepts exactly one JSON value, so the object spans the line.
	var buf bytes.Buffer
	if json.Compact(&buf, line) != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

func hasEpoch(obj json.RawMessage) bool {
	var probe struct {
		Epoch *json.Number `json:"epoch"`
	}
	return json.Unmarshal(obj, &probe) == nil && probe.Epoch != nil
}

// last returns the latest epoch line (a whole pending line counts), or else
// the last line, or nil.
func (m *metricsLog) last() json.RawMessage {
	switch {
	case m.pending != nil && (m.lastEpoch == nil || hasEpoch(m.pending)):
		return m.pending
	case m.lastEpoch != nil:
		return m.lastEpoch
	}
	return m.lastLine
}

// runInfo is one run in the answer of /api/runs.
type runInfo struct {
	Name     string          `json:"name"`            // the run's id (see runID): its key in URLs
	Display  string          `json:"display"`         // the directory name as shown (see displayName)
	Error    string          `json:"error,omitempty"` // why the run's files cannot be read, if so
	Config   json.RawMessage `json:"config"`          // config.json, or null
	Results  json.RawMessage `json:"results"`         // results.json, or null
	Last     json.RawMessage `json:"last"`            // the last epoch line (else the last line), or null
	Lines    int             `json:"lines"`           // complete metrics lines
	Pending  bool            `json:"pending"`         // a whole line after the last newline is shown too
	Skipped  int             `json:"skipped"`         // malformed metrics lines
	Summary  bool            `json:"summary"`         // summary.txt exists
	Done     bool            `json:"done"`            // results.json exists
	Modified time.Time       `json:"modified"`        // latest change of the run files
}

// info refreshes the run's cache and describes the run.
func (s *Server) info(name string) runInfo {
	c := s.cache(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	s.refreshJSON(&c.config, name+"/"+configFile)
	s.refreshJSON(&c.results, name+"/"+resultsFile)
	s.refreshMetrics(&c.metrics, name+"/"+metricsFile)
	ri := runInfo{
		Name:    runID(name),
		Display: displayName(name),
		Config:  c.config.value,
		Results: c.results.value,
		Last:    c.metrics.last(),
		Lines:   len(c.metrics.starts),
		Pending: c.metrics.pending != nil,
		Skipped: c.metrics.skipped,
		Error:   c.metrics.err,
	}
	if fi, err := s.statRegular(path.Join(name, resultsFile)); err == nil {
		ri.Done = true
		ri.Modified = fi.ModTime()
	}
	for _, t := range []time.Time{c.config.modified, c.metrics.modified} {
		if t.After(ri.Modified) {
			ri.Modified = t
		}
	}
	if fi, err := s.statRegular(path.Join(name, summaryFile)); err == nil {
		ri.Summary = true
		if fi.ModTime().After(ri.Modified) {
			ri.Modified = fi.ModTime()
		}
	}
	if ri.Modified.IsZero() {
		if fi, err := s.root.Stat(name); err == nil {
			ri.Modified = fi.ModTime()
		}
	}
	return ri
}

// scalars returns the metrics lines from index from on (at most
// maxLinesPage), the whole-object tail if there is one, and the line count.
func (s *Server) scalars(name string, from int) (lines []json.RawMessage, pending json.RawMessage, total int) {
	c := s.cache(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	s.refreshMetrics(&c.metrics, name+"/"+metricsFile)
	m := &c.metrics
	total = len(m.starts)
	from = min(from, total)
	lines = s.readLines(name+"/"+metricsFile, m, from)
	if from+len(lines) == total {
		pending = m.pending
	}
	return lines, pending, total
}

// readLines reads the indexed lines of m from index from on, at most
// maxLinesPage of them and maxPageBytes in all (at least one), from the
// file, which refreshMetrics has just indexed. It stops early, and the
// caller asks again, if the file cannot be read or was replaced meanwhile.
func (s *Server) readLines(name string, m *metricsLog, from int) []json.RawMessage {
	if from >= len(m.starts) {
		return nil
	}
	f, fi, err := s.openRegular(name)
	if err != nil || m.file == nil || !os.SameFile(fi, m.file) {
		if err == nil {
			f.Close()
		}
		return nil
	}
	defer f.Close()
	var out []json.RawMessage
	bytesRead := 0
	for i := from; i < len(m.starts) && len(out) < maxLinesPage; i++ {
		if len(out) > 0 && bytesRead+int(m.lens[i]) > maxPageBytes {
			break
		}
		buf := make([]byte, m.lens[i])
		if _, err := f.ReadAt(buf, m.starts[i]); err != nil {
			break
		}
		obj, ok := parseLine(buf)
		if !ok {
			break // rewritten in place: the next refresh starts over
		}
		out = append(out, obj)
		bytesRead += len(buf)
	}
	return out
}

// errText is err's message without the path, which the page knows.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
