package board

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runsAnswer is the answer of GET /api/runs.
type runsAnswer struct {
	Logdir string    `json:"logdir"`
	Now    time.Time `json:"now"`     // the server's clock, to judge Modified
	PollMS int64     `json:"poll_ms"` // how often the page should poll
	Runs   []runInfo `json:"runs"`    // newest first, from Offset on
	Total  int       `json:"total"`   // runs in the log directory
	Offset int       `json:"offset"`  // index of Runs[0] among them
	More   int       `json:"more"`    // runs after the page, left out: ask with ?offset=
}

// handleRuns answers GET /api/runs?offset=N&limit=M: the runs newest first,
// M of them (at most maxRuns, the default) from the N-th on.
func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	offset, limit := 0, maxRuns
	for _, p := range []struct {
		key string
		dst *int
	}{{"offset", &offset}, {"limit", &limit}} {
		if v := r.URL.Query().Get(p.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				httpError(w, http.StatusBadRequest, p.key+" must be a non-negative integer")
				return
			}
			*p.dst = n
		}
	}
	limit = min(max(limit, 1), maxRuns)
	runs, err := s.runNames()
	if err != nil {
		httpError(w, http.StatusInternalServerError, "cannot read the log directory")
		return
	}
	offset = min(offset, len(runs))
	page := runs[offset:min(len(runs), offset+limit)]
	keep := make([]string, len(page))
	for i, e := range page {
		keep[i] = e.name
	}
	slices.Sort(keep)
	s.forget(keep) // the cache holds the listed page only
	ans := runsAnswer{
		Logdir: s.logdir,
		Now:    time.Now(),
		PollMS: s.opts.pollInterval().Milliseconds(),
		Runs:   make([]runInfo, 0, len(page)),
		Total:  len(runs),
		Offset: offset,
		More:   len(runs) - offset - len(page),
	}
	for _, e := range page {
		ans.Runs = append(ans.Runs, s.info(e.name))
	}
	writeJSON(w, ans)
}

// scalarsAnswer is the answer of GET /api/runs/{run}/scalars.
type scalarsAnswer struct {
	Run     string            `json:"run"`
	From    int               `json:"from"`    // index of the first line in Lines
	Total   int               `json:"total"`   // complete lines in the file
	More    bool              `json:"more"`    // lines after From+len(Lines) were left out; ask again
	Lines   []json.RawMessage `json:"lines"`   // JSON objects, in file order
	Pending json.RawMessage   `json:"pending"` // a whole object after the last newline, or null
}

func (s *Server) handleScalars(w http.ResponseWriter, r *http.Request) {
	name, ok := s.runFromRequest(w, r)
	if !ok {
		return
	}
	from := 0
	if v := r.URL.Query().Get("from"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			httpError(w, http.StatusBadRequest, "from must be a line index")
			return
		}
		from = n
	}
	lines, pending, total := s.scalars(name, from)
	from = min(from, total)
	if lines == nil {
		lines = []json.RawMessage{}
	}
	writeJSON(w, scalarsAnswer{
		Run: runID(name), From: from, Total: total,
		More:    from+len(lines) < total,
		Lines:   lines,
		Pending: pending,
	})
}

// imageFile is one PNG file of a run.
type imageFile struct {
	Path    string `json:"path"`    // slash-separated, relative to the run directory
	Name    string `json:"name"`    // file name without .png
	Version string `json:"version"` // changes when the file changes
	Index   int    `json:"index,omitempty"`
}

// sequence is a series of images NAME_epoch_N.png (or _step_N), by N.
type sequence struct {
	Name   string      `json:"name"` // directory and NAME, e.g. "samples" or "gan/fakes"
	Axis   string      `json:"axis"` // "epoch" or "step"
	Frames []imageFile `json:"frames"`
}

// imageGroup holds the other images of one directory: "plots" for the run
// directory itself, else the directory's path.
type imageGroup struct {
	Name   string      `json:"name"`
	Images []imageFile `json:"images"`
}

type imagesAnswer struct {
	Run       string       `json:"run"`
	Sequences []sequence   `json:"sequences"`
	Groups    []imageGroup `json:"groups"`
	Truncated bool         `json:"truncated"` // more than the listing limit
}

var sequenceName = regexp.MustCompile(`^(?i)(?:(.*?)[_-])?(epoch|step)[_-]?(\d{1,9})\.png$`)

// plotOrder puts the usual plots first, in this order.
var plotOrder = []string{"history", "loss", "accuracy", "confusion", "confusion_matrix", "roc", "pr"}

func (s *Server) handleImages(w http.ResponseWriter, r *http.Request) {
	name, ok := s.runFromRequest(w, r)
	if !ok {
		return
	}
	ans := imagesAnswer{Run: runID(name), Sequences: []sequence{}, Groups: []imageGroup{}}
	seqs := map[string]*sequence{}
	groups := map[string]*imageGroup{}
	count := 0
	walkErr := fs.WalkDir(s.root.FS(), name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entries are left out
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, name), "/")
		if d.IsDir() {
			if rel != "" && (strings.HasPrefix(d.Name(), ".") || strings.Count(rel, "/") >= maxImageDepth-1) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") || !strings.EqualFold(path.Ext(d.Name()), ".png") {
			return nil
		}
		if count == maxImages {
			ans.Truncated = true
			return fs.SkipAll
		}
		count++
		img := imageFile{Path: rel, Name: strings.TrimSuffix(d.Name(), path.Ext(d.Name()))}
		if fi, err := d.Info(); err == nil {
			img.Version = strconv.FormatInt(fi.ModTime().UnixNano(), 36) + "-" + strconv.FormatInt(fi.Size(), 36)
		}
		dir := path.Dir(rel)
		if dir == "." {
			dir = ""
		}
		if m := sequenceName.FindStringSubmatch(d.Name()); m != nil {
			img.Index, _ = strconv.Atoi(m[3])
			key := path.Join(dir, m[1])
			if m[1] == "" {
				key = path.Join(dir, "images")
			}
			axis := strings.ToLower(m[2])
			k := key + "\x00" + axis
			if seqs[k] == nil {
				seqs[k] = &sequence{Name: key, Axis: axis}
			}
			seqs[k].Frames = append(seqs[k].Frames, img)
			return nil
		}
		g := dir
		if g == "" {
			g = "plots"
		}
		if groups[g] == nil {
			groups[g] = &imageGroup{Name: g}
		}
		groups[g].Images = append(groups[g].Images, img)
		return nil
	})
	if walkErr != nil {
		httpError(w, http.StatusInternalServerError, "cannot list the run's images")
		return
	}
	for _, sq := range seqs {
		slices.SortFunc(sq.Frames, func(a, b imageFile) int {
			if a.Index != b.Index {
				return a.Index - b.Index
			}
			return strings.Compare(a.Path, b.Path)
		})
		ans.Sequences = append(ans.Sequences, *sq)
	}
	slices.SortFunc(ans.Sequences, func(a, b sequence) int {
		return strings.Compare(a.Name+"\x00"+a.Axis, b.Name+"\x00"+b.Axis)
	})
	for _, g := range groups {
		slices.SortFunc(g.Images, func(a, b imageFile) int {
			ra, rb := plotRank(a.Name), plotRank(b.Name)
			if ra != rb {
				return ra - rb
			}
			return strings.Compare(a.Path, b.Path)
		})
		ans.Groups = append(ans.Groups, *g)
	}
	slices.SortFunc(ans.Groups, func(a, b imageGroup) int {
		if (a.Name == "plots") != (b.Name == "plots") {
			if a.Name == "plots" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	writeJSON(w, ans)
}

func plotRank(name string) int {
	if i := slices.Index(plotOrder, strings.ToLower(name)); i >= 0 {
		return i
	}
	return len(plotOrder)
}

type summaryAnswer struct {
	Run       string  `json:"run"`
	Summary   *string `json:"summary"` // null when the run has no summary.txt
	Truncated bool    `json:"truncated"`
}

func (s *Server) handleSummary(w http.ResponseWriter, r *http.Request) {
	name, ok := s.runFromRequest(w, r)
	if !ok {
		return
	}
	ans := summaryAnswer{Run: runID(name)}
	f, _, err := s.openRegular(name + "/" + summaryFile)
	if err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSummaryFile+1))
		if err != nil {
			httpError(w, http.StatusInternalServerError, "cannot read the summary")
			return
		}
		if len(b) > maxSummaryFile {
			b, ans.Truncated = b[:maxSummaryFile], true
		}
		text := string(b)
		ans.Summary = &text
	}
	writeJSON(w, ans)
}

// filePolicy keeps a served file from running script or loading anything,
// whatever its type (an SVG or HTML file in a run directory, say).
const filePolicy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	name, ok := s.runFromRequest(w, r)
	if !ok {
		return
	}
	rel := r.PathValue("path")
	if !validFilePath(rel) {
		httpError(w, http.StatusBadRequest, "bad file path")
		return
	}
	f, fi, err := s.openRegular(name + "/" + rel)
	if err != nil {
		httpError(w, http.StatusNotFound, "no such file")
		return
	}
	defer f.Close()
	w.Header().Set("Content-Security-Policy", filePolicy)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, path.Base(rel), fi.ModTime(), f)
}

// validFilePath reports whether p is a relative slash-separated path of
// visible elements: no "", ".", ".." or hidden element, no backslash, no NUL.
func validFilePath(p string) bool {
	if len(p) > 1024 || !fs.ValidPath(p) || p == "." || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	for e := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(e, ".") {
			return false
		}
	}
	return true
}

// runFromRequest returns the run named in the path, or writes 404.
func (s *Server) runFromRequest(w http.ResponseWriter, r *http.Request) (string, bool) {
	name, ok := runName(r.PathValue("run"))
	if !ok || !s.isRun(name) {
		httpError(w, http.StatusNotFound, "no such run")
		return "", false
	}
	return name, true
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "cannot encode the answer")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}

func httpError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
