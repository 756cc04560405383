package web

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/settle"
)

// pages are the parsed templates: one per page, each with the layout and
// the shared partials (files named _*.html).
type pages struct {
	byName map[string]*template.Template
}

func mustParsePages() *pages {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	shared := []string{"templates/layout.html"}
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			shared = append(shared, n)
		}
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, append(shared, n)...))
		p.byName[strings.TrimSuffix(base, ".html")] = t
	}
	return p
}

// view is what every page template gets: the visitor, the notice left by
// the previous form, and the page's own data as .Data.
type view struct {
	Visitor visitor
	Notice  string
	Path    string
	Data    any
}

// render writes page name with data and status. The page is rendered
// into a buffer first, so a template error never sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.log.Error("web: no such page template", "page", name)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	v := view{Visitor: visitorOf(r), Notice: takeFlash(w, r), Path: r.URL.Path, Data: data}
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("web: render", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// show renders page name with data, 200.
func (s *Server) show(w http.ResponseWriter, r *http.Request, name string, data any) error {
	s.render(w, r, http.StatusOK, name, data)
	return nil
}

// form is a form's state for its template: what was typed (Values, from
// the request, so a failed form keeps it) and the error to show above it.
type form struct {
	Values url.Values
	Error  string
}

// Get returns the typed value of field.
func (f form) Get(field string) string { return f.Values.Get(field) }

// formError renders page name again with the form as typed and err's
// message, with err's status; an internal error becomes an error page.
// setForm puts the form into the page's data.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, name string, err error, data func(form) any) error {
	if souk.ErrorCode(err) == souk.EINTERNAL {
		return err
	}
	s.render(w, r, souk.HTTPStatus(err), name, data(form{Values: r.PostForm, Error: souk.ErrorMessage(err)}))
	return nil
}

// funcs are the helpers templates may call; an area of the console may
// add its own in an init function of its file.
var funcs = template.FuncMap{
	"money":   func(m settle.Money) string { return m.String() },
	"price":   func(p catalog.Price) string { return settle.M(p.Amount, p.Currency).String() },
	"date":    formatDate,
	"day":     func(t time.Time) string { return formatDay(t) },
	"isZero":  func(t time.Time) bool { return t.IsZero() },
	"join":    strings.Join,
	"lower":   strings.ToLower,
	"inc":     func(i int) int { return i + 1 },
	"percent": func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + " %" },
	"seq": func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	},
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatDay(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02")
}

// pager is a page of a long list: where the next page starts, if there is
// one. Lists page by the last id shown (a cursor), so a page never skips
// or repeats a row that was added meanwhile.
type pager struct {
	Next  string // the URL of the next page, "" on the last
	First string // the URL of the first page, "" on the first
}

// pageSize is how many rows a list shows.
const pageSize = 25

// newPager returns the pager of list page r, whose cursor parameter is
// param, when the page ends with the row whose id is last and more rows
// follow it (ask the list for pageSize+1 rows to know: pageOf).
func newPager(r *http.Request, param string, more bool, last string) pager {
	var p pager
	q := r.URL.Query()
	if q.Get(param) != "" {
		q.Del(param)
		p.First = r.URL.Path + "?" + q.Encode()
	}
	if more && last != "" {
		q.Set(param, last)
		p.Next = r.URL.Path + "?" + q.Encode()
	}
	return p
}

// pageOf cuts rows, asked for pageSize+1, to a page, and reports whether
// more follow.
func pageOf[T any](rows []T) ([]T, bool) {
	if len(rows) > pageSize {
		return rows[:pageSize], true
	}
	return rows, false
}
